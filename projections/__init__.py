"""Read models: pure apply functions over domain events, kept in a store with tracking."""
