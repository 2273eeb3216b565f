import pytest

from kumon.phones import InvalidPhone, mask_phone, mask_phones_in_text, normalize_phone


@pytest.mark.parametrize(
    "raw",
    [
        "5511987654321@s.whatsapp.net",
        "+55 (11) 98765-4321",
        "551187654321",
        "11987654321",
        "5511987654321:12@s.whatsapp.net",
    ],
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
    assert (
        mask_phones_in_text("from 5511987654321@s.whatsapp.net ok") == "from 5511*****4321@s.whatsapp.net ok"
    )


def test_mask_phones_in_text_leaves_decimals_and_masks_phones_at_a_sentence_end() -> None:
    assert mask_phones_in_text("succeeded in 7.35990599999993s") == "succeeded in 7.35990599999993s"
    assert mask_phones_in_text("sent to 5511987654321.") == "sent to 5511*****4321."
    assert mask_phones_in_text("GET /api/v1/conversation/+5511987654321 HTTP/1.1") == (
        "GET /api/v1/conversation/+5511*****4321 HTTP/1.1"
    )


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            "GET /api/v1/conversation/%2B5511987654321 HTTP/1.1",
            "GET /api/v1/conversation/+5511*****4321 HTTP/1.1",
        ),
        (
            "/simulator/messages?unit=demo&phone=%2B5511987654321&after=3",
            "/simulator/messages?unit=demo&phone=+5511*****4321&after=3",
        ),
        ("/simulator/messages?phone=11%2096600-0001", "/simulator/messages?phone=1196***0001"),
        ("ligar para (11) 98765-4321 hoje", "ligar para 1198***4321 hoje"),
        ("+55 11 98765-4321", "+5511*****4321"),
        ("+55 (11) 98765-4321.", "+5511*****4321."),
        ("número 98765-4321", "número 9876*4321"),
        ("?phone=%2811%29%2098765-4321&x=1", "?phone=1198***4321&x=1"),
        ("/api/v1/conversation/%2B4915112345678", "/api/v1/conversation/%2B4915*****5678"),
    ],
)
def test_mask_phones_in_text_masks_url_encoded_and_formatted_numbers(text: str, masked: str) -> None:
    assert mask_phones_in_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "slot 2026-12-01 20:44:42 booked",
        "at 2026-12-01T14:00:00-03:00",
        "R$ 1.234,56 por mês",
        "ids 123-456 and 12-34",
        "took 1234.5678 ms",
        "GET /static/admin/css/base.css?v=2026",
        "q=caf%C3%A9%20com%20leite",
    ],
)
def test_mask_phones_in_text_leaves_dates_amounts_and_ids(text: str) -> None:
    assert mask_phones_in_text(text) == text


def test_django_request_logs_are_masked_with_debug_on(capsys: pytest.CaptureFixture[str]) -> None:
    """With DEBUG, Django's own console handler printed `Not Found: /api/v1/conversation/+55…`
    unmasked beside ours (its DEFAULT_LOGGING handler on the "django" logger)."""
    import logging

    from django.conf import settings
    from django.utils.log import configure_logging

    from kumon.logging import logging_config

    configure_logging(settings.LOGGING_CONFIG, logging_config(debug=True, level="INFO"))
    try:
        logging.getLogger("django.request").warning("Not Found: %s", "/api/v1/conversation/+5511987654321")
        logging.getLogger("django.server").info(
            '"GET /api/v1/conversation/%s HTTP/1.1" 404', "%2B5511987654321"
        )
    finally:
        configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    err = capsys.readouterr().err
    assert ("987654321" in err, err.count("+5511*****4321")) == (False, 2), err


def test_log_records_mask_phones_in_message_and_attached_request(rf) -> None:
    import logging

    from kumon.logging import ContextFilter

    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "Forbidden: %s",
        ("/api/v1/conversation/+5511987654321",),
        None,
    )
    record.request = rf.get("/api/v1/conversation/+5511987654321")
    assert ContextFilter().filter(record)
    assert (record.getMessage(), record.request) == (
        "Forbidden: /api/v1/conversation/+5511*****4321",
        "<WSGIRequest: GET '/api/v1/conversation/+5511*****4321'>",
    )
