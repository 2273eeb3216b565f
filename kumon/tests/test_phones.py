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


def test_mask_phones_in_text_leaves_decimals_and_masks_phones_at_a_sentence_end() -> None:
    assert mask_phones_in_text("succeeded in 7.35990599999993s") == "succeeded in 7.35990599999993s"
    assert mask_phones_in_text("sent to 5511987654321.") == "sent to 5511*****4321."
    assert mask_phones_in_text("GET /api/v1/conversation/+5511987654321 HTTP/1.1") == (
        "GET /api/v1/conversation/+5511*****4321 HTTP/1.1"
    )


def test_log_records_mask_phones_in_message_and_attached_request(rf) -> None:
    import logging

    from kumon.logging import ContextFilter

    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Forbidden: %s", ("/api/v1/conversation/+5511987654321",), None)
    record.request = rf.get("/api/v1/conversation/+5511987654321")
    assert ContextFilter().filter(record)
    assert (record.getMessage(), record.request) == (
        "Forbidden: /api/v1/conversation/+5511*****4321", "<WSGIRequest: GET '/api/v1/conversation/+5511*****4321'>"
    )
