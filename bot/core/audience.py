"""Who a broadcast goes to: an :class:`Audience` and its stored (JSON) form.

An audience selects active contacts by channel, the subscriber's language (a subscriber with
no language counts as English), topics of interest and city. An empty ``languages``,
``topics`` or ``cities`` means "no filter"; a topic filter keeps subscribers with at least
one of the topics.

Cheapest channel first: unless ``both_channels`` is set, a person with an active Telegram
contact gets the broadcast on Telegram only, and SMS goes to people without one. This only
applies when Telegram is one of ``channels``: an SMS-only audience sends SMS to everyone with
an active number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.catalog import LANGS, Lang
from bot.core.decision import Channel

CHANNELS: tuple[Channel, ...] = ("sms", "telegram")
_FIELDS = ("channels", "languages", "topics", "cities", "both_channels")


class AudienceError(ValueError):
    """An audience (or its stored form) is not valid; the message says what and where."""


def _names(field_name: str, values: Iterable[Any]) -> frozenset[str]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise AudienceError(f"audience {field_name}: expected a list of names, got {values!r}")
    out: set[str] = set()
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise AudienceError(
                f"audience {field_name}: every entry must be a non-empty string, got {value!r}"
            )
        out.add(value.strip())
    return frozenset(out)


def _subset(field_name: str, values: Iterable[Any], allowed: tuple[str, ...]) -> frozenset[str]:
    names = _names(field_name, values)
    unknown = sorted(names - set(allowed))
    if unknown:
        raise AudienceError(
            f"audience {field_name}: unknown {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(allowed)}"
        )
    return names


@dataclass(frozen=True, slots=True)
class Audience:
    """Who gets a broadcast; see the module docstring. Lists are accepted and kept as sets.

    Cities are compared without regard to case.
    """

    channels: frozenset[Channel] = field(default_factory=lambda: frozenset(CHANNELS))
    languages: frozenset[Lang] = frozenset()
    topics: frozenset[str] = frozenset()
    cities: frozenset[str] = frozenset()
    both_channels: bool = False

    def __post_init__(self) -> None:
        channels = _subset("channels", self.channels, CHANNELS)
        if not channels:
            raise AudienceError("audience channels: choose at least one of sms, telegram")
        object.__setattr__(self, "channels", channels)
        object.__setattr__(self, "languages", _subset("languages", self.languages, LANGS))
        object.__setattr__(self, "topics", _names("topics", self.topics))
        object.__setattr__(self, "cities", _names("cities", self.cities))
        if not isinstance(self.both_channels, bool):
            raise AudienceError(
                f"audience both_channels: expected true or false, got {self.both_channels!r}"
            )

    @property
    def cheapest_channel(self) -> bool:
        """True when people with an active Telegram chat get no SMS."""
        return not self.both_channels and "telegram" in self.channels and "sms" in self.channels


def audience_to_dict(audience: Audience) -> dict[str, Any]:
    """The JSON-ready form: sorted lists, so equal audiences store equally."""
    return {
        "channels": sorted(audience.channels),
        "languages": sorted(audience.languages),
        "topics": sorted(audience.topics),
        "cities": sorted(audience.cities),
        "both_channels": audience.both_channels,
    }


def audience_from_dict(data: Mapping[str, Any]) -> Audience:
    """Read :func:`audience_to_dict`'s output; missing keys take their defaults.

    :class:`AudienceError` names the offending key for unknown keys or bad values.
    """
    if not isinstance(data, Mapping):
        raise AudienceError(f"audience: expected an object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise AudienceError(
            f"audience: unknown key {', '.join(map(repr, unknown))}; "
            f"expected some of {', '.join(_FIELDS)}"
        )
    kwargs: dict[str, Any] = {}
    for name in ("channels", "languages", "topics", "cities"):
        if name in data:
            value = data[name]
            if not isinstance(value, list | tuple | set | frozenset):
                raise AudienceError(f"audience {name}: expected a list, got {value!r}")
            kwargs[name] = value  # checked and made a frozenset by Audience
    if "both_channels" in data:
        kwargs["both_channels"] = data["both_channels"]
    return Audience(**kwargs)


def describe_audience(audience: Audience) -> str:
    """Who an audience picks, in words: ``everyone``, ``SMS only; language ur; topics jobs``."""
    parts = []
    if audience.channels != {"sms", "telegram"}:
        parts.append(f"{'SMS' if 'sms' in audience.channels else 'Telegram'} only")
    elif audience.both_channels:
        parts.append("SMS and Telegram")
    if audience.languages:
        parts.append("language " + ", ".join(sorted(audience.languages)))
    if audience.topics:
        parts.append("topics " + ", ".join(sorted(audience.topics)))
    if audience.cities:
        parts.append("cities " + ", ".join(sorted(audience.cities)))
    return "; ".join(parts) or "everyone"
