"""The edge: the `tongban` command line and (later) the FastAPI application."""
