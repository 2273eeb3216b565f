import pytest

from kumon.phones import InvalidPhone, mask_phone, mask_phones_in_text, normalize_phone


@pytest.mark.parametrize(
    "raw",
    ["5511987654321@s.whatsapp.net", "+55 (11) 98765-4321", "551187654321", "11987654321", "5511987654321:12@s.whatsapp.net"],
)
def test_normalize_phone_brazilian_variants_are_one_number(raw: str) -> None:
    assert normalize_phone(raw) == "+5511987654321"


def test_normalize_phone_landline_keeps_eight_digits() -> None:
    assert normalize_phone("551133334444") == "+551133334444"


@pytest.mark.parametrize("raw", ["", "abc", "123", "9" * 20])
def test_normalize_phone_rejects_garbage(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(raw)


def test_mask_phone_keeps_prefix_and_last_four() -> None:
    assert mask_phone("+5511987654321") == "+5511*****4321"
    assert mask_phones_in_text("from 5511987654321@s.whatsapp.net ok") == "from 5511*****4321@s.whatsapp.net ok"
