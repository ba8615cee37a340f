"""Small layout promises, measured in Chromium on a laptop and a 390 px phone: a card's first line sits at its
padding, the tokens page's "For" choice reads whole, and the consent page's note keeps its distance from Allow
and Deny."""
import pytest

from portal.identity import apps
from tests.browser_support import BROWSER_MARKS
from tests.factories import SYSTEM
from tests.web.test_browser import ann_with_history, log_in

pytestmark = BROWSER_MARKS

WIDTHS = [390, 1280]
# How far the first line of a card's content sits below the card's padding edge (0: right at it).
FIRST_LINE_OFFSET = """(card) => {
    const style = getComputedStyle(card);
    const top = card.getBoundingClientRect().top + parseFloat(style.borderTopWidth) + parseFloat(style.paddingTop);
    return card.firstElementChild.getBoundingClientRect().top - top;
}"""
# How much wider the chosen option's text is than the room its <select> gives it (≤ 0: it reads whole).
SELECT_OVERFLOW = """(select) => {
    const style = getComputedStyle(select);
    const context = document.createElement('canvas').getContext('2d');
    context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const text = select.options[select.selectedIndex].text;
    const arrow = 24;  // Chromium's drop-down arrow and its gap
    const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - arrow;
    return context.measureText(text).width - room;
}"""


@pytest.mark.parametrize("width", WIDTHS)
def test_the_statements_card_starts_its_text_at_its_padding(live, page, width):
    main_id, _, _ = live.setup(ann_with_history)
    page.set_viewport_size({"width": width, "height": 844})
    log_in(page, live)
    page.goto(f"{live.url}/accounts/{main_id}/statements")
    card = page.locator("section.card").first
    assert card.locator("p.muted").is_visible()
    assert abs(card.evaluate(FIRST_LINE_OFFSET)) <= 1


@pytest.mark.parametrize("width", WIDTHS)
def test_the_token_forms_for_choice_reads_whole(live, page, width):
    live.setup(ann_with_history)
    page.set_viewport_size({"width": width, "height": 844})
    log_in(page, live)
    page.goto(live.url + "/tokens")
    assert page.locator("#app").evaluate(SELECT_OVERFLOW) <= 0


def ann_and_an_app():
    main_id, _, _ = ann_with_history()
    app, _ = apps.register_app(name="Budget Buddy", homepage="https://budgetbuddy.example",
                               redirect_uris=["http://127.0.0.1:8765/callback"], client_type="confidential",
                               scopes=["accounts:read", "transactions:read"], actor=SYSTEM)
    return app.client_id


@pytest.mark.parametrize("width", WIDTHS)
def test_the_consent_pages_note_keeps_its_distance_from_the_buttons(live, page, width):
    client_id = live.setup(ann_and_an_app)
    page.set_viewport_size({"width": width, "height": 844})
    log_in(page, live)
    page.goto(f"{live.url}/oauth/authorize?response_type=code&client_id={client_id}"
              "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback&scope=accounts%3Aread&state=s"
              f"&code_challenge={'A' * 43}&code_challenge_method=S256")
    note = page.locator("[data-testid=consent] p.hint").bounding_box()
    buttons = page.locator("[data-testid=consent] .consent-choice").bounding_box()
    assert buttons["y"] - (note["y"] + note["height"]) >= 12
    assert page.console_errors == []
