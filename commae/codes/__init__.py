"""Binary linear block codes for coded links: the :class:`BlockCode` protocol, codes, decoders, BICM."""

from __future__ import annotations

from .base import KNOWN_LLR, BlockCode

__all__ = ["BlockCode", "KNOWN_LLR"]
