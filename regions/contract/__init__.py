"""The published contract: `asyncapi.yaml`, generated from the codecs and types it describes.

It sits on top of `regions` because it reads everything (events, envelopes, command and
document codecs, the command service's error table); nothing in the node imports it.
"""
