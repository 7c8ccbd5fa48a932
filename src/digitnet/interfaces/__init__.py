"""Interfaces: how people drive digitnet (the command line here; the API in digitnet/)."""
