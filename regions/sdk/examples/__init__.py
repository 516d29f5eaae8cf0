"""Example region back-ends built on the SDK (`regions.sdk.feed`, `regions.sdk.client`)."""
