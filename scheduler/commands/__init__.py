"""One module per ``lofte`` subcommand; each has ``register(subparsers)``."""
