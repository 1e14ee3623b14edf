"""One module per command; each exposes ``run(args: argparse.Namespace) -> int``."""
