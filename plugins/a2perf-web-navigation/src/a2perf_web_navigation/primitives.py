"""The 40 website primitives of the gMiniWoB / CoDE task: what each one shows and what it does.

A primitive is *active* when it holds a profile field that counts in the reward, *passive* when it is
a distractor or a navigation button. ``num_dom_elements`` are A2Perf's published counts; only the
difficulty metric reads them, so that our difficulty numbers stay comparable with A2Perf's.

The HTML is written here, in Python, so that the shipped vocabulary can be derived from it. Elements
carry two data attributes the page script reads and the agent never observes:
``data-a`` (what acting on the element does) and ``data-f`` (the profile key it holds).
"""

from __future__ import annotations

from html import escape

import attrs

#: behaviours of ``data-a``: type into / select / check, page navigation, episode-ending distractor
TYPE, SELECT, CHECK, RADIO, NEXT, SUBMIT, EXIT = "type", "select", "check", "radio", "next", "submit", "exit"
#: ``data-a`` of the navbar toggler: shows or hides the collapsed menu
TOGGLE = "toggle"


@attrs.frozen
class Primitive:
    """One primitive: its design name, whether it is active, its profile key and its A2Perf size."""

    name: str
    active: bool
    num_dom_elements: int
    #: profile key (A2Perf's JS concept) for active primitives, else ""
    field: str = ""
    #: the widget: "text", "password", "number", "select", "checkbox", "radio", or a passive kind
    widget: str = ""
    label: str = ""
    placeholder: str = ""
    #: choices for select and radio widgets, or item texts for passive groups
    items: tuple[str, ...] = ()


_P = Primitive
PRIMITIVES: dict[str, Primitive] = {
    p.name: p
    for p in (
        # active: one profile field each
        _P("username", True, 19, "username", "text", placeholder="Username"),
        _P("password", True, 13, "password", "password", placeholder="Password"),
        _P("firstname", True, 13, "name_first", "text", label="First Name"),
        _P("lastname", True, 18, "name_last", "text", label="Last Name"),
        _P("addressline1", True, 21, "address_line1", "text", label="Address"),
        _P("addressline2", True, 12, "address_line2", "text", placeholder="Apartment, suite, etc."),
        _P("city", True, 12, "city", "text", label="City"),
        _P("zipcode", True, 13, "postal_code", "text", label="ZIP Code"),
        _P("state", True, 12, "state", "select", placeholder="State", items=("CA", "NY")),
        _P("rememberme", True, 13, "rememberme", "checkbox", label="Remember me"),
        _P("stayloggedin", True, 13, "stayloggedin", "checkbox", label="Stay logged in"),
        _P("captcha", True, 13, "captcha", "text", label="Enter Captcha"),
        _P("fullname", True, 12, "name_full", "text", label="Full Name"),
        _P("ccnumber", True, 12, "credit_card_number", "text", label="Credit card number"),
        _P("ccexpdate", True, 12, "credit_card_expiration", "text", label="Expiration date"),
        _P("cccvv", True, 13, "credit_card_verification_code", "text", label="CVV"),
        _P("cc", True, 17, "credit_card_type", "radio", label="Payment", items=("Credit Card", "Debit Card")),
        _P("departureairport", True, 12, "departureairport", "text", label="From"),
        _P("destinationairport", True, 13, "destinationairport", "text", label="To"),
        _P("departuredate", True, 12, "departuredate", "text", label="Depart"),
        _P("destinationdate", True, 13, "destinationdate", "text", label="Return"),
        _P("numberofpeople", True, 10, "numberofpeople", "number", label="Number of passengers"),
        _P("cabin", True, 12, "cabin", "radio", label="Cabin", items=("Economy", "First")),
        _P("flighttype", True, 13, "flighttype", "radio", items=("Oneway", "Roundtrip")),
        # passive: distractors, headers and navigation buttons
        _P(
            "navbar",
            False,
            10,
            widget="navbar",
            label="GShopping",
            items=("Home", "Login", "Account", "Cart", "Checkout"),
        ),
        _P("carousel", False, 13, widget="carousel", items=("1", "2", "3", "4", "5")),
        _P("deck", False, 13, widget="deck", items=("Card 1", "Card 2", "Card 3", "Card 4")),
        _P(
            "dealmedia",
            False,
            12,
            widget="dealmedia",
            label="Deal of the Day",
            items=("Gaming workstation", "Get it today!"),
        ),
        _P("footer1", False, 12, widget="footer", items=("Contact", "Terms", "Support", "Full Site")),
        _P("forgotusername", False, 16, widget="link", label="Forgot user name."),
        _P("forgotpassowrd", False, 67, widget="link", label="Forgot password."),
        _P("cart", False, 13, widget="cart", items=("Shoe", "Bag", "Tshirt")),
        _P("header", False, 13, widget="header", label="Shipping Information"),
        _P("header_login", False, 47, widget="header", label="Login"),
        _P("header_select_items", False, 19, widget="header", label="Select items"),
        _P("inpgroup1", False, 12, widget="search", placeholder="Search"),
        _P("next_login_page", False, 20, widget="next", label="Login"),
        _P("next_login", False, 13, widget="next", label="Login and Checkout"),
        _P("next_checkout", False, 13, widget="next", label="Checkout"),
        _P("submit", False, 12, widget="submit", label="Place Order"),
    )
}

ACTIVE = tuple(name for name, p in PRIMITIVES.items() if p.active)
PASSIVE = tuple(name for name, p in PRIMITIVES.items() if not p.active)

#: fixed profile values, by profile key (A2Perf's ``singleValue`` fields)
FIXED_VALUES: dict[str, str] = {
    "username": "john@email.com",
    "password": "pass",
    "captcha": "CaPtChA",
    "name_first": "John",
    "name_last": "Wick",
    "address_line1": "413 E Mountain View",
    "address_line2": "2042",
    "city": "Mountain View",
    "postal_code": "95123",
    "name_full": "John Wick",
    "credit_card_number": "0000 0000 0000 0000",
    "credit_card_expiration": "2025",
    "credit_card_verification_code": "123",
    "departureairport": "San Francisco Airport (SFO)",
    "destinationairport": "Los Angeles Airport (LAX)",
    "departuredate": "10/02/2020",
    "destinationdate": "10/03/2020",
}

#: seeded random profile values, by profile key: the choices drawn uniformly
RANDOM_VALUES: dict[str, tuple[str | bool, ...]] = {
    "state": ("CA", "NY"),
    "credit_card_type": ("Credit Card", "Debit Card"),
    "cabin": ("Economy", "First"),
    "flighttype": ("Oneway", "Roundtrip"),
    "numberofpeople": ("1", "2", "3", "4", "5"),
    "rememberme": (True, False),
    "stayloggedin": (True, False),
}

#: the always-present first profile slot (A2Perf sorts keys; ``_dummy`` sorts first); acting with it clicks
DUMMY_FIELD = "_dummy"


def _attrs(**values: str) -> str:
    return "".join(f' {key.replace("_", "-")}="{escape(value)}"' for key, value in values.items() if value)


def _input(p: Primitive, input_type: str) -> str:
    element_id = f"actionable_{p.field}"
    label = f'<label class="form-label" for="{element_id}">{escape(p.label)}</label>' if p.label else ""
    field = _attrs(id=element_id, placeholder=p.placeholder, data_a=TYPE, data_f=p.field)
    return f'<div class="form-group">{label}<input type="{input_type}" class="form-control"{field}></div>'


def _select(p: Primitive) -> str:
    options = f'<option value="">{escape(p.placeholder)}</option>' + "".join(
        f'<option value="{escape(v)}">{escape(v)}</option>' for v in p.items
    )
    field = _attrs(id=f"actionable_{p.field}", data_a=SELECT, data_f=p.field)
    return f'<div class="form-group"><select class="custom-select"{field}>{options}</select></div>'


def _checkbox(p: Primitive) -> str:
    element_id = f"actionable_{p.field}"
    field = _attrs(id=element_id, data_a=CHECK, data_f=p.field)
    return (
        f'<div class="form-check"><input type="checkbox" class="form-check-input"{field}>'
        f'<label class="form-check-label" for="{element_id}">{escape(p.label)}</label></div>'
    )


def _radio(p: Primitive, page: int) -> str:
    header = f'<h6 class="group-title">{escape(p.label)}</h6>' if p.label else ""
    buttons = []
    for k, item in enumerate(p.items):
        element_id = f"actionable_{p.field}_p{page}_i{k}"
        field = _attrs(id=element_id, name=f"{p.field}_p{page}", value=item, data_a=RADIO, data_f=p.field)
        buttons.append(
            f'<div class="form-check form-check-inline"><input type="radio" class="form-check-input"{field}>'
            f'<label class="form-check-label" for="{element_id}">{escape(item)}</label></div>'
        )
    return f'<div class="radio-group">{header}{"".join(buttons)}</div>'


def _exit_link(text: str, css: str) -> str:
    return f'<a class="{css}" href="#" data-a="{EXIT}">{escape(text)}</a>'


def _passive(p: Primitive, page: int) -> str:
    w = p.widget
    if w == "navbar":
        # as A2Perf's: the menu links (which end the episode) are collapsed behind the toggler; the
        # brand link does nothing
        links = "".join(f'<li class="nav-item">{_exit_link(t, "nav-link")}</li>' for t in p.items)
        return (
            f'<nav class="navbar"><a class="navbar-brand" href="#">{escape(p.label)}</a>'
            f'<button class="navbar-toggler" type="button" data-a="{TOGGLE}"><span class="navbar-toggler-icon"></span>'
            f'</button><ul class="navbar-nav" style="display:none">{links}</ul></nav>'
        )
    if w == "carousel":
        slides = "".join(f'<div class="carousel-item">{_exit_link(t, "carousel-link")}</div>' for t in p.items)
        return (
            f'<div class="carousel"><div class="carousel-inner">{slides}</div>'
            f"{_exit_link('Previous', 'carousel-control-prev')}{_exit_link('Next', 'carousel-control-next')}</div>"
        )
    if w == "deck":
        cards = "".join(
            f'<div class="card"><div class="card-header">${k}.99</div>{_exit_link(t, "card-img")}'
            f'<div class="card-body">{_exit_link(f"Title {k + 1}", "card-title")}'
            f'<p class="card-text">Product description {k + 1}</p></div></div>'
            for k, t in enumerate(p.items)
        )
        return f'<div class="card-deck">{cards}</div>'
    if w == "dealmedia":
        text, link = p.items
        return (
            f'<div class="media"><div class="media-body"><h5 class="mt-0">{escape(p.label)}</h5>'
            f'<p class="media-text">{escape(text)}</p>{_exit_link(link, "stretched-link")}</div></div>'
        )
    if w == "footer":
        links = "".join(f"<li>{_exit_link(t, 'footer-link')}</li>" for t in p.items)
        return f'<footer class="footer"><ul class="footer-links">{links}</ul></footer>'
    if w == "link":
        return f'<div class="link-row">{_exit_link(p.label, "small-link")}</div>'
    if w == "cart":
        items = "".join(
            f'<li class="list-group-item">{_exit_link(t, "cart-item")}<span class="price">${k + 5}.00</span></li>'
            for k, t in enumerate(p.items)
        )
        return (
            f'<div class="card cart"><h6 class="card-header">Your cart</h6><ul class="list-group">{items}</ul>'
            '<div class="input-group"><input type="text" class="form-control" placeholder="Promo code" data-a="type">'
            '<button class="btn btn-secondary" type="button">Redeem</button></div></div>'
        )
    if w == "header":
        return f'<h5 class="page-header">{escape(p.label)}</h5>'
    if w == "search":
        return (
            '<div class="input-group"><input type="text" class="form-control" placeholder="Search" data-a="type"></div>'
        )
    raise ValueError(f"primitive {p.name!r} has no passive widget")


def render_primitive(name: str, page: int, connected: bool = False) -> str:
    """The HTML of one primitive on ``page``; ``connected`` says whether a next/submit button of
    this page moves the episode on (only the chain's buttons do: next before the last page,
    submit on the last)."""
    p = PRIMITIVES[name]
    if p.widget in ("text", "password", "number"):
        return _input(p, p.widget)
    if p.widget == "select":
        return _select(p)
    if p.widget == "checkbox":
        return _checkbox(p)
    if p.widget == "radio":
        return _radio(p, page)
    if p.widget in ("next", "submit"):
        return navigation_button(p.widget, p.label, page, connected)
    return _passive(p, page)


def navigation_button(kind: str, text: str, page: int, connected: bool) -> str:
    """A next or submit button; an unconnected one is a plain button that does nothing."""
    action = f' data-a="{kind}"' if connected else ""
    css = "btn btn-primary" if kind == "submit" else "btn btn-outline-primary"
    return f'<button type="button" class="{css}" id="actionable_{kind}_p{page}"{action}>{escape(text)}</button>'
