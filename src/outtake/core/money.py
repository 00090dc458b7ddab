"""Money as integer minor units with an explicit currency; rates are Decimal."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TypeVar

K = TypeVar("K")

# ISO 4217 minor-unit exponents for the currencies we price in.
MINOR_UNITS = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "CHF": 2, "CAD": 2, "AUD": 2}


class CurrencyMismatch(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Money:
    minor: int
    currency: str = "USD"

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("Money.minor must be an int of minor units")
        if self.currency not in MINOR_UNITS:
            raise ValueError(f"unknown currency {self.currency!r}")

    @classmethod
    def zero(cls, currency: str = "USD") -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, amount: Decimal | str | int, currency: str = "USD") -> Money:
        """Round a major-unit amount to the currency's minor unit (banker's rounding)."""
        exp = MINOR_UNITS[currency]
        minor = (Decimal(amount) * (10**exp)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
        return cls(int(minor), currency)

    def to_decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-MINOR_UNITS[self.currency])

    def _check(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError("can only combine Money with Money")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def times(self, rate: Decimal | int) -> Money:
        """Multiply by a Decimal rate, rounding half-even to the minor unit."""
        exact = Decimal(self.minor) * Decimal(rate)
        return Money(int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)), self.currency)

    def __str__(self) -> str:
        exp = MINOR_UNITS[self.currency]
        return f"{self.to_decimal():,.{exp}f} {self.currency}"


def allocate(total: Money, weights: list[int | Decimal]) -> list[Money]:
    """Split total in proportion to weights by the largest-remainder method.

    The parts always add up to total exactly; ties in remainders go to the earlier weight
    so the result is deterministic.
    """
    if not weights:
        raise ValueError("nothing to allocate to")
    ws = [Decimal(w) for w in weights]
    if any(w < 0 for w in ws):
        raise ValueError("weights must not be negative")
    weight_sum = sum(ws)
    if weight_sum == 0:
        ws = [Decimal(1)] * len(ws)
        weight_sum = Decimal(len(ws))
    sign = -1 if total.minor < 0 else 1
    amount = abs(total.minor)
    exact = [Decimal(amount) * w / weight_sum for w in ws]
    floors = [int(x) for x in exact]
    leftover = amount - sum(floors)
    order = sorted(range(len(ws)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:leftover]:
        floors[i] += 1
    return [Money(sign * m, total.currency) for m in floors]


def split_shares(
    gross_by_party: dict[K, int], rate: Decimal, currency: str
) -> tuple[dict[K, Money], Money]:
    """Each party's share (rate × their gross, half-even per party) and the remainder.

    The one rule for creators' shares of a sale: the shares plus the remainder (Outtake's fee)
    always add up to the gross exactly.
    """
    shares = {party: Money(gross, currency).times(rate) for party, gross in gross_by_party.items()}
    gross = sum(gross_by_party.values())
    return shares, Money(gross - sum(m.minor for m in shares.values()), currency)
