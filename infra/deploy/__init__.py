"""The Pulumi side: the program, its providers and the machines it declares."""
