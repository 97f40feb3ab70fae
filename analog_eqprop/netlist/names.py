"""Safe SPICE names and text, kept importable here: they live in :mod:`analog_eqprop.spice.names`."""

from analog_eqprop.spice.names import (  # noqa: F401
    COMMENT_CHARS,
    MAX_BASE_LENGTH,
    RESERVED,
    SAFE_NAME,
    NameMap,
    check_model_name,
    check_spice_name,
    comment_text,
    decode_label,
    encode_label,
    format_number,
    sanitize,
    title_text,
    unique_name,
)

__all__ = ["NameMap", "sanitize", "unique_name", "comment_text", "title_text", "encode_label", "decode_label",
           "format_number", "check_spice_name", "check_model_name", "RESERVED", "SAFE_NAME", "COMMENT_CHARS",
           "MAX_BASE_LENGTH"]
