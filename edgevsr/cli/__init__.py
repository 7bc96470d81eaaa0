"""The `edgevsr` command line: a thin layer over the library; each command lives in its own module."""
