"""The command-line layer: parse options, call the domain, render. Nothing else lives here."""
