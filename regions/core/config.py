"""Node settings: flags and `TONGBAN_*` environment variables (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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
    holiday_files: Annotated[tuple[Path, ...], NoDecode] = Field(
        default=(), description="operator holiday files (JSON) extending the official calendar")
    register_key: str = Field(default="tongban-dev-register-key",
                              description="HMAC key for person keys; set a secret in production")
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


def split_host_port(address: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:8000` for IPv6) as (host, port); ValueError naming what is wrong."""
    host, sep, port = address.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"http must be HOST:PORT (e.g. 127.0.0.1:8000), got {address!r}")
    return host, int(port)
