"""Test infrastructure shared by every suite. Everything here is real: a moto server process
answering over HTTP, PostgreSQL databases created for the run, sockets on 127.0.0.1."""
