"""Free text at the API door: lone surrogates, control and text-direction characters never reach the ledger."""
import pytest

from tests.api.test_posting import last_audit, post, refused


def test_a_lone_surrogate_in_the_description_is_a_validation_error_and_audited(client, customer):
    """JSON's "\\ud800" decodes to a str no database can store: it was a 500, and the refusal went unaudited."""
    payload = refused(client, customer, {"amount": "-1.00", "description": "coffee \ud800"}, 400,
                      "validation_error", "description")
    assert "\ud800" not in str(payload)


def test_a_lone_surrogate_in_a_field_name_is_refused_and_the_refusal_audited(client, customer):
    """The audit row of the refusal names the unknown field: it must be storable even though the name is not."""
    refused(client, customer, {"amount": "-1.00", "\udcff": "x"}, 400, "validation_error", "\udcff")
    assert "\udcff" not in last_audit().refusal_message and "udcff" in last_audit().refusal_message


@pytest.mark.parametrize("description", [
    "invoice \u202egnp.exe",            # RIGHT-TO-LEFT OVERRIDE: shows as "invoice exe.png"
    "\u2066hidden\u2069 text",           # isolates
    "\u202aembedded\u202c",              # embedding and pop
    "\x1b[31mred\x1b[0m",                # ANSI escape: recolours a terminal reading the logs or a CSV
    "two\nlines", "carriage\rreturn", "tab\there", "bell\x07", "delete\x7f", "next\x85line",
    "line\u2028separator",
])
def test_control_and_bidi_override_characters_in_a_description_are_refused(client, customer, description):
    refused(client, customer, {"amount": "-1.00", "description": description}, 400, "validation_error",
            "description")


def test_right_to_left_text_with_its_marks_is_a_valid_description(client, customer):
    """Hebrew and Arabic text, and the direction marks they legitimately use, are text, not controls."""
    for description in ("שלום עולם", "مرحبا\u061c 12", "Café\u200f (Tel Aviv)", "🙂 emoji\u200d"):
        response = post(client, customer, {"amount": "-1.00", "description": description})
        assert response.status_code == 201 and response.get_json()["description"] == description
