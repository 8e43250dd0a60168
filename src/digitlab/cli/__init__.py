"""The ``digitlab`` command line: thin wrappers that parse, call one library function, print."""
