"""Example region back-ends built on the feed and command client (regions.feed_client)."""
