"""Node settings: flags and `TONGBAN_*` environment variables (pydantic-settings).

Two secrets (docs/secrets.md): `register_key`, the HMAC key that turns an ID number
into the person key the registers use, and `cipher_key`, the AES key(s) the event store encrypts
with. Both have development values so a simulator, a test or a laptop runs without setup;
`check_secrets` refuses them unless the run says it is a development one (`development`), so a
production node never starts on a key that is in the repository.
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The register key of development runs (simulator, tests): public, so refused in production.
DEV_REGISTER_KEY: Final = "tongban-dev-register-key"
#: The shortest register key accepted outside development (characters).
MIN_REGISTER_KEY: Final = 32
#: AES key sizes the store's cipher takes (bytes, before base64).
CIPHER_KEY_SIZES: Final = (16, 24, 32)


class SecretsError(ValueError):
    """The node's secrets are missing, malformed or the public development ones."""


StoreKind = Literal["memory", "sqlite", "postgres"]
BlobStoreKind = Literal["auto", "memory", "filesystem", "postgres"]
BrokerKind = Literal["memory", "nats"]


class RegionConfig(BaseSettings):
    """One region node's configuration. Every field can be set as `TONGBAN_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="TONGBAN_", extra="forbid")

    region: str = Field(description="GB/T 2260 code of the region this node serves")
    # NoDecode: `TONGBAN_PEERS=150600,610800` is split by `_split`, not parsed as JSON.
    peers: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="regions this node exchanges cases with")
    store: StoreKind = "memory"
    dsn: str = ""
    schema_name: str = Field(default="", alias="schema")
    sqlite_dir: Path = Path("./data")
    broker: BrokerKind = "memory"
    nats_url: str = "nats://127.0.0.1:4222"
    http: str = ""
    gap_bound_seconds: float = 30.0
    heartbeat_seconds: float = 5.0
    relay_batch: int = 500
    link_batch: int = Field(
        default=64, ge=1, le=64, description="the most events one link message carries "
        "(`regions.wire.link.MAX_BATCH`, 64). 1 while a peer still runs a node older than "
        "contract 4.0.0 (2026-12-07): its inbox reads only single events and quarantines a batch")
    holiday_files: Annotated[tuple[Path, ...], NoDecode] = Field(
        default=(), description="operator holiday files (JSON) extending the official calendar")
    staff_tokens: Path | None = Field(
        default=None, description="the staff token file `tongban staff issue-token` writes "
        "(hashes only): who may use the staff API and pages, for which region and role")
    materials: Path | None = Field(
        default=None, description="the operator's materials file (docs/catalogue.md): the "
        "materials each item requires, which the window's 形式审查 checks (一次性告知)")
    quarantine_max_records: int = Field(
        default=10_000, ge=1, description="the most messages the inbox keeps in quarantine; "
        "past it (or past quarantine_max_bytes) the oldest are kept and the rest counted")
    quarantine_max_bytes: int = Field(
        default=256 * 1024 * 1024, ge=1024, description="the most bytes the quarantine keeps")
    notifications_dir: Path = Field(
        default=Path("./data/notifications"),
        description="applicant notices (补正, decided, completed) of the log adapter: "
                    "<dir>/<region>.jsonl, one line per notice sent (regions.adapters.notify_log)")
    register_key: str = Field(
        default=DEV_REGISTER_KEY, repr=False,
        description="HMAC key that turns an ID number into its person key (at least "
                    f"{MIN_REGISTER_KEY} characters); the default is refused outside development")
    cipher_key: str = Field(
        default="", repr=False,
        description="base64 AES key(s) (16, 24 or 32 bytes) the event store encrypts with, "
                    "comma-separated, newest first: records are written with the first and read "
                    "with whichever wrote them (rotation); empty = unencrypted, development only")
    development: bool = Field(
        default=False,
        description="a development run (simulator, tests, a laptop): the development register "
                    "key and an unencrypted store are allowed")
    # Materials (regions.adapters.blobs): where the region's document bytes live, and what it takes.
    blob_store: BlobStoreKind = Field(
        default="auto", description="memory, filesystem or postgres; auto follows --store "
                                    "(memory, sqlite -> filesystem, postgres)")
    blob_dir: Path = Field(default=Path("./data/blobs"),
                           description="filesystem blob store: a directory per region under it")
    material_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0,
                                    description="largest document accepted (bytes)")
    material_media_types: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("application/pdf", "application/ofd", "image/jpeg", "image/png", "image/tiff"),
        description="media types accepted (comma-separated in TONGBAN_MATERIAL_MEDIA_TYPES)")

    @field_validator("region")
    @classmethod
    def _six_digits(cls, value: str) -> str:
        if len(value) != 6 or not value.isdigit():
            raise ValueError(f"region must be a 6-digit GB/T 2260 code, got {value!r}")
        return value

    @field_validator("http")
    @classmethod
    def _host_port(cls, value: str) -> str:
        if value:
            split_host_port(value)
        return value

    @field_validator("peers", "holiday_files", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(",") if p.strip())
        return value

    @field_validator("material_media_types", mode="before")
    @classmethod
    def _split_media_types(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(",") if p.strip())
        return value


    def check_secrets(self) -> None:
        """Refuse to run on public or malformed secrets unless this is a development run."""
        check_cipher_keys(self.cipher_key)
        if self.development:
            return
        problems = []
        if self.register_key == DEV_REGISTER_KEY:
            problems.append("register_key is the public development key: set "
                            "TONGBAN_REGISTER_KEY to a secret")
        elif len(self.register_key) < MIN_REGISTER_KEY:
            problems.append(f"register_key needs at least {MIN_REGISTER_KEY} characters")
        if not self.cipher_key:
            problems.append("cipher_key is not set, so personal data would be stored "
                            "unencrypted: set TONGBAN_CIPHER_KEY")
        if problems:
            raise SecretsError("; ".join(problems) + " (or set TONGBAN_DEVELOPMENT=true for a "
                               "development run)")


def check_cipher_keys(value: str) -> tuple[str, ...]:
    """The comma-separated base64 AES keys of `cipher_key` (none when empty); SecretsError."""
    keys = tuple(part.strip() for part in value.split(",") if part.strip())
    for index, key in enumerate(keys):
        try:
            size = len(b64decode(key, validate=True))
        except (binascii.Error, ValueError):
            raise SecretsError(f"cipher_key #{index + 1} is not base64") from None
        if size not in CIPHER_KEY_SIZES:
            raise SecretsError(f"cipher_key #{index + 1} has {size} bytes; AES takes "
                               f"{', '.join(map(str, CIPHER_KEY_SIZES))}")
    return keys


def split_host_port(address: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:8000` for IPv6) as (host, port); ValueError naming what is wrong."""
    host, sep, port = address.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"http must be HOST:PORT (e.g. 127.0.0.1:8000), got {address!r}")
    return host, int(port)
