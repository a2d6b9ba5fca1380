"""Where a database connection's password comes from: a fixed string, or a fresh IAM
authentication token for every new connection (RDS, with DATABASE_IAM_AUTH=true).

On AWS each service logs in to RDS as its own database role (ADR 13), which has no password: the
role is granted `rds_iam`, and RDS accepts a token signed with the task role's credentials
instead. A token is good for 15 minutes, and only to open a connection (one already open lives
on), so it cannot be read once at start-up and kept: make_engine asks its source again for every
connection the pool opens (a `do_connect` hook), and the source signs a new one each time.
Signing is local (no call to AWS), so a new connection costs no round trip for it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Protocol

from taskoverflow_events.aws import AwsSettings


class PasswordSource(Protocol):
    """Gives the password for one new connection to `user` at `host`:`port`."""

    def __call__(self, host: str, port: int, user: str) -> str: ...


# What make_engine and the settings accept as a database password.
DatabasePassword = str | PasswordSource


class RdsIamToken:
    """A PasswordSource that signs an RDS IAM authentication token per call.

    The rds client is built on first use, not with the settings: reading the configuration
    builds no boto3 client. botocore refreshes the task role's credentials by itself, so a
    long-lived client keeps signing with valid ones.
    """

    def __init__(self, aws: AwsSettings) -> None:
        self.aws = aws
        self._client: Any = None
        self._lock = threading.Lock()

    def __call__(self, host: str, port: int, user: str) -> str:
        return str(
            self._rds().generate_db_auth_token(
                DBHostname=host, Port=port, DBUsername=user, Region=self.aws.region
            )
        )

    def _rds(self) -> Any:
        with self._lock:  # pools open connections from several threads at once
            if self._client is None:
                self._client = self.aws.client("rds")
            return self._client

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RdsIamToken) and other.aws == self.aws

    def __hash__(self) -> int:
        return hash(self.aws)

    def __repr__(self) -> str:
        return f"RdsIamToken(region={self.aws.region!r})"


def database_password_from_env(env: Mapping[str, str], aws: AwsSettings) -> DatabasePassword | None:
    """DATABASE_IAM_AUTH=true: an IAM token per connection (DATABASE_PASSWORD is then ignored:
    on RDS a role granted rds_iam cannot log in with a password). Otherwise DATABASE_PASSWORD,
    or none (trust, or a password in the URL)."""
    if env.get("DATABASE_IAM_AUTH", "").lower() in ("1", "true", "yes"):
        return RdsIamToken(aws)
    return env.get("DATABASE_PASSWORD") or None
