"""Third-party files kept verbatim (see README.md); a package so that wheels include them."""
