"""Stored events encrypted with the event store library's own cipher support, keys rotatable.

Why: a region's events hold personal data (masked ID numbers, names of materials, reasons,
amounts), and a database dump, a backup or a replica must not show them. eventsourcing encrypts
every stored event's state when its settings name a cipher (`CIPHER_TOPIC`, `CIPHER_KEY`); the
notification log, the relay, the feed and the quarantine all read through the same mapper, so
nothing else changes. Topics, ids and versions stay in clear: the store needs them to order and
find records.

`KeyringCipher` is the library's AES-GCM cipher (`eventsourcing.cryptography.AESCipher`, the same
bytes: nonce, tag, ciphertext) with a key *ring*: `CIPHER_KEY` is one or more base64 keys,
comma-separated, newest first. It encrypts with the first and decrypts with whichever key
authenticates the record (GCM's tag says which), so rotating a key is: put the new key first and
restart; old records stay readable as long as their key stays in the ring (docs/secrets.md).
"""

from __future__ import annotations

import os
from base64 import b64decode

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Cipher
from eventsourcing.utils import Environment, get_topic

from regions.core.config import check_cipher_keys

NONCE = 12
TAG = 16


class KeyringCipher(Cipher):
    """AES-GCM with the newest key, decrypting with any key of the ring."""

    CIPHER_KEY = "CIPHER_KEY"

    def __init__(self, environment: Environment) -> None:
        keys = check_cipher_keys(environment.get(self.CIPHER_KEY) or "")
        if not keys:
            raise OSError(f"'{self.CIPHER_KEY}' not in env")
        self.ring = [AESGCM(b64decode(key)) for key in keys]

    def encrypt(self, plaintext: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        sealed = self.ring[0].encrypt(nonce, plaintext, None)
        return nonce + sealed[-TAG:] + sealed[:-TAG]  # the library's layout: tag first

    def decrypt(self, ciphertext: bytes) -> bytes:
        nonce, tag, body = ciphertext[:NONCE], ciphertext[NONCE:NONCE + TAG], \
            ciphertext[NONCE + TAG:]
        if len(nonce) != NONCE or len(tag) != TAG:
            raise ValueError("damaged cipher text")
        for key in self.ring:
            try:
                return key.decrypt(nonce, body + tag, None)
            except InvalidTag:
                continue
        raise ValueError("no key of the ring decrypts this record (a retired key?)")


CIPHER_TOPIC = get_topic(KeyringCipher)


def cipher_settings(cipher_key: str, prefix: str) -> dict[str, str]:
    """The library's settings for `cipher_key` under the application's `prefix`; both empty
    when there is no key, so a stray `CIPHER_KEY` in the environment cannot switch it on."""
    if not check_cipher_keys(cipher_key):
        return {prefix + "CIPHER_TOPIC": "", prefix + "CIPHER_KEY": ""}
    return {prefix + "CIPHER_TOPIC": CIPHER_TOPIC, prefix + "CIPHER_KEY": cipher_key}
