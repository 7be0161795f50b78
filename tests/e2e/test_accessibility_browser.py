"""Accessibility, measured (issue 18, scope 8): every public page state, in Chromium, at a phone's
width (420 px) and a desktop's (1280 px), in English and in German (Accept-Language: de):

- axe-core with the WCAG 2.2 A/AA rules finds no violation;
- every link, button and field, reached by the Tab key, shows a focus outline with a contrast of at
  least 3:1 against what surrounds it (WCAG 1.4.11 non-text contrast, 2.4.7 focus visible);
- every aria-describedby (and aria-labelledby) names exactly one element that exists (a
  duplicated id is only a "needs review" for axe).

The states are reached as a person reaches them (tests/e2e/public_states.py). Script runs in the
browser only for axe and the measurements; the pages themselves ship none.
"""

import pytest

from tests.e2e.public_states import STATES, scene_build

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (420, 1280)
LANGUAGES = ("en", "de")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
FOCUSABLE = "a[href], button, input:not([type=hidden]), select, textarea, summary"


@pytest.fixture(params=LANGUAGES)
def language(request):
    return request.param


@pytest.fixture(params=list(STATES))
def state(request, page_in, language, live_server, smtp):
    """The page showing one state, for a browser that asks for `language`."""
    scene = scene_build(page_in(language), live_server.url, smtp)
    STATES[request.param](scene)
    rendered = scene.page.evaluate("document.documentElement.lang")
    assert rendered == language, f"the page was rendered in {rendered!r}, not {language!r}"
    return scene.page


def _widths(page):
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        yield width


AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary.replace(/\\s+/g, " ")),
  }));
}"""


def axe_violations(page, axe_script, width) -> list[str]:
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=axe_script)
    found = []
    for violation in page.evaluate(AXE_RUN, WCAG_TAGS):
        found.append(f"{width}px {violation['id']} ({violation['impact']}): {violation['help']}")
        found += [f"    {node}" for node in violation["nodes"]]
    return found


FOCUS_STYLE = """(element) => {
  const rgba = (text) => {
    const parts = text.match(/[\\d.]+/g).map(Number);
    return [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1];
  };
  // The outline is drawn outside the element (outline-offset): what surrounds it is the nearest
  // ancestor's background that is not transparent, the page's white when none is.
  let behind = [255, 255, 255, 1];
  for (let node = element.parentElement; node; node = node.parentElement) {
    const colour = rgba(getComputedStyle(node).backgroundColor);
    if (colour[3] > 0) { behind = colour; break; }
  }
  const style = getComputedStyle(element);
  return {
    element: element.outerHTML.slice(0, 100),
    style: style.outlineStyle,
    width: parseFloat(style.outlineWidth),
    outline: rgba(style.outlineColor),
    behind: behind,
  };
}"""


def _luminance(rgb) -> float:
    def channel(value):
        value /= 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(value) for value in rgb[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first, second) -> float:
    """WCAG 2's contrast ratio of two opaque colours."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _over(colour, background):
    """A translucent colour as seen over an opaque background."""
    alpha = colour[3]
    return [colour[i] * alpha + background[i] * (1 - alpha) for i in range(3)]


FIRST_VISIT = """() => {
  const element = document.activeElement;
  if (element === document.body) return false;
  window.tabbedTo = window.tabbedTo || new WeakSet();  // the elements themselves, not their markup
  if (window.tabbedTo.has(element)) return false;
  window.tabbedTo.add(element);
  return true;
}"""


def _tab_through(page):
    """Yield the focused element after each press of Tab, once round the page."""
    page.evaluate("window.tabbedTo = new WeakSet()")
    page.locator("body").focus()
    for _press in range(200):
        page.keyboard.press("Tab")
        if not page.evaluate(FIRST_VISIT):
            return
        yield page.evaluate_handle("document.activeElement").as_element()


def weak_focus_outlines(page, width) -> list[str]:
    """Every link, button and field the Tab key reaches whose focus outline is missing, thinner than
    2 px or of less than 3:1 contrast against what surrounds it."""
    problems, reached = [], 0
    for element in _tab_through(page):
        if not element.evaluate(f"e => e.matches({FOCUSABLE!r})"):
            continue
        reached += 1
        seen = element.evaluate(FOCUS_STYLE)
        behind = _over(seen["behind"], [255, 255, 255])
        ratio = contrast(_over(seen["outline"], behind), behind)
        if seen["style"] == "none" or seen["width"] < 2 or ratio < 3:
            problems.append(
                f"{width}px {seen['element']}: outline {seen['style']} {seen['width']}px, "
                f"contrast {ratio:.2f}:1"
            )
    return problems if reached else [f"{width}px: Tab reached no link, button or field"]


DANGLING_REFERENCES = """() => [...document.querySelectorAll("[aria-describedby], [aria-labelledby]")]
  .flatMap(element => ["aria-describedby", "aria-labelledby"]
    .flatMap(attribute => (element.getAttribute(attribute) || "").split(/\\s+/).filter(Boolean)
      .map(id => [id, document.querySelectorAll(`[id="${CSS.escape(id)}"]`).length])
      .filter(([id, count]) => count !== 1)
      .map(([id, count]) => `${attribute}="${id}" names ${count} elements, on ${element.outerHTML.slice(0, 100)}`)))"""


def test_public_page_state_is_accessible(state, axe_script):
    """One visit per state and language (reaching a state costs more than measuring it); each
    check reports on its own."""
    failures = {"axe-core (WCAG 2.2 A/AA)": [], "focus outline below 3:1": []}
    for width in _widths(state):
        failures["axe-core (WCAG 2.2 A/AA)"] += axe_violations(state, axe_script, width)
        failures["focus outline below 3:1"] += weak_focus_outlines(state, width)
    failures["aria-describedby or aria-labelledby not naming exactly one element"] = state.evaluate(
        DANGLING_REFERENCES
    )
    report = [f"{check} on {state.url}:\n" + "\n".join(found) for check, found in failures.items() if found]
    assert not report, "\n\n".join(report)
