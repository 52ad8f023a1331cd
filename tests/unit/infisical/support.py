"""A contract fake with RelayMD's project, plus the identity that may write to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from infra.infisical.api import Identity, RetryPolicy
from tests.support.infisical_fake import InfisicalContractFake, serve

PROJECT_ID = "dcf29082-7972-4bca-be58-363f6ad969c0"
CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret"
# Tests wait milliseconds, not seconds, between retries.
FAST_RETRY = RetryPolicy(first_delay=0.01, max_delay=0.05, total_seconds=2.0)


@dataclass
class FakeInfisical:
    fake: InfisicalContractFake
    url: str

    @property
    def identity(self) -> Identity:
        return Identity(self.url, CLIENT_ID, CLIENT_SECRET)


@contextmanager
def running_fake(*, idempotent_folder_create: bool = False) -> Iterator[FakeInfisical]:
    fake = InfisicalContractFake(idempotent_folder_create=idempotent_folder_create)
    fake.add_identity(CLIENT_ID, CLIENT_SECRET)
    fake.add_environment(PROJECT_ID, "prod")
    with serve(fake) as url:
        yield FakeInfisical(fake, url)
