"""Numbers in a URL: every id in a path and every numeric query parameter, out of range or not a
number at all, is answered with a 404, a 400 or is ignored; never a 500 (issue 13, item 11).

A number past what a column holds used to reach the database ("Python int too large to convert
to SQLite INTEGER"; PostgreSQL's "integer out of range"), and so did a page number turned into
an OFFSET. The routes are found from the app's ``url_map`` (every converter that takes a number)
and the query parameters from ``QUERY_NUMBERS``; each is tried as anonymous and as the role that
may open it, with one value of each kind (``SWEEP``) and a few Hypothesis examples drawn from
``numberish``, on SQLite and PostgreSQL.
"""
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select
from werkzeug.routing.converters import NumberConverter

from storefront.extensions import db
from storefront.products.models import Product

from .conftest import csrf_token
from .test_access_matrix import ANON, CUSTOMER, MEMBER_A, VERIFIER
from .test_access_public import PublicWorld

SETTINGS = settings(max_examples=20, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

#: Past the 32-bit ``integer`` of PostgreSQL, past SQLite's 64 bits, past what ``int()`` reads.
HUGE = ["2147483648", "9223372036854775808", "99999999999999999999999", "9" * 40, "9" * 4400]
#: Every kind of number a hand-edited or hostile URL holds.
EDGES = HUGE + ["0", "-1", "-99999999999999999999", "1.5", "1e309", "NaN", "0x10", "abc", "",
                " 7", "+5", "1_000", "١٢٣", "²", "00000000000000000000000000000001"]
#: One of each kind, tried on every route and parameter (Hypothesis draws from all the rest).
SWEEP = HUGE[:3] + ["9" * 4400, "0", "-1", "1.5", "abc", "²", "١٢٣"]


def numberish():
    """Huge, negative, zero, float-ish and non-digit values."""
    return st.one_of(
        st.sampled_from(EDGES),
        st.integers(min_value=2 ** 31 - 2, max_value=2 ** 130).map(str),
        st.integers(max_value=0).map(str),
        st.floats().map(str),
        st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
        .filter(lambda v: not v.strip().isdigit()),
    )


def not_an_id():
    """``numberish`` without the ids rows can have (so a POST never acts on one)."""
    return numberish().filter(lambda v: not re.fullmatch(r"\s*0*[1-9][0-9]{0,9}\s*", v)
                              or int(v) >= 2 ** 31)


#: Cursor values: the sort's own kinds (price, time, name) and edge values.
MOMENTS = ["2026-01-01T00:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999999-12:00",
           "2026-13-01", "99999-01-01", "2026-01-01T00:00:00Z", "2026-01-01 08:00", "2026-01-01T00:00:00+99:00"]


def cursor(separator="~"):
    """``<sort value><separator><id>`` as the pager (``~``) and the order feeds (``,``) write it."""
    return st.builds(lambda value, row_id: f"{value}{separator}{row_id}",
                     st.one_of(numberish(), st.sampled_from(MOMENTS)), numberish())


#: Numeric query parameters: endpoint -> (fixed arguments, parameter -> strategy, roles). Where a
#: parameter is read is named beside it; a new one belongs here.
SORTS = ["newest", "price_asc", "price_desc", "name"]
PAGE = {"page": numberish(), "halaman": numberish()}  # catalog/paging.py page_number
CURSORS = {"after": cursor(), "before": cursor()}  # catalog/paging.py decode_cursor
QUERY_NUMBERS = {
    **{endpoint: ({}, {**PAGE, **CURSORS, "urut": st.sampled_from(SORTS)}, (ANON,))
       for endpoint in ("catalog.product_list", "catalog.search")},
    "villages.village_list": ({}, PAGE, (ANON,)),
    "villages.village_detail": (lambda w: {"slug": w.village_slug}, {**PAGE, **CURSORS}, (ANON,)),
    "api.products": ({}, {**PAGE, **CURSORS, "per_page": numberish()}, (ANON,)),
    **{f"feeds.orders_{kind}": (lambda w: {"token": w.feed_token},  # feeds/routes.py
                                {"since": st.one_of(numberish(), st.sampled_from(MOMENTS)),
                                 "before": cursor(",")}, (ANON,))
       for kind in ("atom", "json", "csv")},
    "accounts.order_history": ({}, {"page": numberish()}, (ANON, CUSTOMER)),  # paging.page_number
    "checkout.start": ({}, {"alamat": numberish()}, (ANON, CUSTOMER)),  # a saved address's id
    "portal.deliveries": ({}, {"sebelum": numberish()}, (ANON, MEMBER_A)),  # a message id
    "portal.sales": ({}, {"bulan": numberish()}, (ANON, MEMBER_A)),  # YYYY-MM
}

#: Who may open a route with an id in its path, by blueprint (anonymous visitors always try too).
ROLES_BY_PREFIX = {"portal.": (MEMBER_A,), "office.": (VERIFIER,), "legality.": (MEMBER_A, VERIFIER),
                   "accounts.": (CUSTOMER,)}
_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@pytest.fixture
def world(app, client):
    w = PublicWorld(app)
    # The customer's cart holds a product, so /checkout shows the form with the saved addresses.
    product_id = db.session.scalars(select(Product.id).where(Product.slug == w.sellable_slug)).one()
    customer = w.client(CUSTOMER)
    assert customer.get(f"/produk/{w.sellable_slug}").status_code == 200
    assert customer.post("/keranjang/tambah", data={"product_id": str(product_id),
                                                     "quantity": "1"}).status_code == 303
    assert customer.get("/checkout").status_code == 200
    return w


def numeric_rules(app, method):
    """``(rule, numeric argument names)`` of every ``method`` route with a number in its path."""
    found = []
    for rule in app.url_map.iter_rules():
        numbers = sorted(name for name, converter in rule._converters.items()
                         if isinstance(converter, NumberConverter))
        if method in rule.methods and numbers:
            found.append((rule, numbers))
    return sorted(found, key=lambda pair: pair[0].rule)


def path_for(rule, values):
    """The rule's path with ``values`` (text, as typed) in place of its numeric arguments; a
    text argument (a photo's key) gets a plausible name that no row has."""
    return _ARGUMENT.sub(lambda m: quote(values.get(m.group(1), "foto-00000000"), safe=""), rule.rule)


def roles_for(endpoint):
    for prefix, roles in ROLES_BY_PREFIX.items():
        if endpoint.startswith(prefix):
            return (ANON, *roles)
    return (ANON,)


def _get(world, role, url, **kwargs):
    response = world.client(role).get(url, **kwargs)
    response.get_data()  # streamed bodies (CSV) run now
    return response


def _post(world, role, url):
    client = world.client(role)
    tokens = world.__dict__.setdefault("csrf_tokens", {})
    if role not in tokens:
        tokens[role] = csrf_token(client.get("/masuk").get_data(as_text=True))
    return client.post(url, data={"csrf_token": tokens[role]})


def _status(send, *args, **kwargs):
    """The status code, or what was raised: the tests' app propagates errors instead of a 500."""
    try:
        return send(*args, **kwargs).status_code
    except Exception as exc:  # noqa: BLE001 - reported with the URL
        db.session.rollback()
        return f"500 ({type(exc).__name__}: {str(exc)[:60]})"


def _failed(status):
    return not isinstance(status, int) or status >= 500


def test_the_tables_name_routes_that_exist(app):
    """``QUERY_NUMBERS`` and the path walk name real routes, and the path walk finds the ids."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert not set(QUERY_NUMBERS) - endpoints
    assert {rule.endpoint for rule, _ in numeric_rules(app, "GET")} >= {
        "legality.scan", "portal.order", "portal.paper", "portal.edit_product", "office.paper",
        "office.invite", "office.village_labels", "portal.resubmit_paper"}
    assert len(numeric_rules(app, "POST")) >= 14


def test_ids_in_a_path_are_bounded_by_one_converter(app):
    """Every number in a path goes through the ``id`` converter (``storefront/numbers.py``),
    which refuses what the columns cannot hold; none through Werkzeug's unbounded ``int``."""
    from storefront.numbers import INTEGER_MAX, IdConverter

    for method in ("GET", "POST"):
        for rule, names in numeric_rules(app, method):
            for name in names:
                converter = rule._converters[name]
                assert isinstance(converter, IdConverter), (rule.rule, name)
                assert (converter.min, converter.max) == (1, INTEGER_MAX)


def test_ids_in_a_path_out_of_range_or_not_numbers_are_404_never_500(world, app):
    rules = numeric_rules(app, "GET")
    wrong = []
    for rule, names in rules:
        for value in SWEEP:
            url = path_for(rule, {name: value for name in names})
            for role in roles_for(rule.endpoint):
                status = _status(_get, world, role, url)
                if _failed(status):
                    wrong.append(f"{role} GET {url[:80]}: {status}")
    assert not wrong, "\n".join(wrong)
    # The largest id a column holds is simply not there.
    assert _get(world, VERIFIER, f"/dokumen/scan/{2 ** 31 - 1}").status_code == 404
    assert _get(world, VERIFIER, f"/dokumen/scan/{2 ** 31}").status_code == 404
    assert _get(world, MEMBER_A, f"/portal/pesanan/{'9' * 30}").status_code == 404

    @SETTINGS
    @given(st.sampled_from(rules), st.data())
    def run(picked, data):
        rule, names = picked
        url = path_for(rule, {name: data.draw(numberish(), label=name) for name in names})
        for role in roles_for(rule.endpoint):
            assert _get(world, role, url).status_code < 500, (role, url)

    run()


def test_ids_in_a_posted_path_out_of_range_are_404_never_500(world, app):
    """The buttons' routes too (with a valid CSRF token, so the id is what is tested)."""
    wrong = []
    for rule, names in numeric_rules(app, "POST"):
        for value in HUGE[:3] + ["0", "-1"]:
            url = path_for(rule, {name: value for name in names})
            for role in roles_for(rule.endpoint):
                status = _status(_post, world, role, url)
                if _failed(status) or (role != ANON and status != 404):
                    wrong.append(f"{role} POST {url}: {status}")
    assert not wrong, "\n".join(wrong)

    rules = numeric_rules(app, "POST")

    @settings(SETTINGS, max_examples=10)
    @given(st.sampled_from(rules), st.data())
    def run(picked, data):
        rule, names = picked
        url = path_for(rule, {name: data.draw(not_an_id(), label=name) for name in names})
        for role in roles_for(rule.endpoint):
            assert _post(world, role, url).status_code < 500, (role, url)

    run()


def _query_url(world, endpoint):
    values, _params, _roles = QUERY_NUMBERS[endpoint]
    return world.url(endpoint, **(values(world) if callable(values) else values))


def _queries(endpoint, name, value):
    """``value`` as parameter ``name``; in a cursor, as its sort value (a price: ``urut``) and as
    its id (the default sort, by time)."""
    if endpoint.startswith("feeds.") and name == "before":  # ``<time>,<parcel id>``
        return [{name: f"2026-01-01T00:00:00Z,{value}"}, {name: f"{value},1"}]
    if name in CURSORS:
        return [{"urut": "price_asc", name: f"{value}~1"}, {name: f"2026-01-01T00:00:00~{value}"}]
    return [{name: value}]


def test_numeric_query_parameters_out_of_range_never_fail_the_server(world):
    wrong = []
    for endpoint, (_values, params, roles) in sorted(QUERY_NUMBERS.items()):
        if endpoint in ("feeds.orders_atom", "feeds.orders_csv"):
            continue  # the same parameters read by the same code as orders.json (Hypothesis tries them)
        url = _query_url(world, endpoint)
        for name in sorted(set(params) - {"urut", "halaman"}):  # halaman: page's other name
            for value in SWEEP:
                for query in _queries(endpoint, name, value):
                    for role in roles:
                        status = _status(_get, world, role, url, query_string=query)
                        if _failed(status):
                            wrong.append(f"{role} GET {url}?{query}: {status}"[:160])
    assert not wrong, "\n".join(wrong)

    @SETTINGS
    @given(st.sampled_from(sorted(QUERY_NUMBERS)), st.data())
    def run(endpoint, data):
        _values, params, roles = QUERY_NUMBERS[endpoint]
        chosen = data.draw(st.lists(st.sampled_from(sorted(params)), min_size=1, max_size=3, unique=True))
        query = {name: data.draw(params[name], label=name) for name in chosen}
        for role in roles:
            response = _get(world, role, _query_url(world, endpoint), query_string=query)
            assert response.status_code < 500, (role, endpoint, query)

    run()


#: The URLs of the review (issue 13, item 11), and who opened them.
REVIEWED = [
    ("/produk?urut=price_asc&after=99999999999999999999999~1", ANON),
    ("/produk?urut=price_asc&before=99999999999999999999999~1", ANON),
    ("/produk?after=2026-01-01T00:00:00~99999999999999999999999", ANON),
    ("/api/v1/products?after=99999999999999999999999~99999999999999999999999", ANON),
    ("/dokumen/scan/99999999999999999999999", ANON),
    ("/dokumen/scan/99999999999999999999999", VERIFIER),
    ("/akun/pesanan?page=99999999999999999999999", CUSTOMER),
    ("/portal/webhook/kiriman?sebelum=99999999999999999999999", MEMBER_A),
]


def test_the_reviewed_urls_are_answered_without_an_error(world):
    """The page as if the number were not there, or the shop's own 404 page in Indonesian."""
    wrong = []
    for url, role in REVIEWED:
        status = _status(_get, world, role, url)
        if status not in (200, 404):
            wrong.append(f"{role} GET {url}: {status}")
        elif status == 404 and "Halaman tidak ditemukan" not in _get(world, role, url).get_data(as_text=True):
            wrong.append(f"{role} GET {url}: a 404 without the shop's page")
    assert not wrong, "\n".join(wrong)


# --- the same numbers posted in forms: an id the page gave, a count it showed --------------------

def test_ids_and_counts_posted_in_forms_out_of_range_change_nothing(world):
    """A product id (cart), the products a paper covers, the stock an edit form showed and the
    total the checkout showed: tampered to numbers past the columns, or "²" (which
    ``str.isdigit`` takes and ``int`` refuses), the form is refused and nothing changes."""
    from .test_abuse import changed_tables, snapshot
    from .test_cart_checkout import JAWA_TIMUR, place, quote
    from .test_portal_listings import post_edit

    wrong = []

    def check(what, send, allowed):
        before = snapshot()
        status = _status(send)
        changed = changed_tables(before, snapshot())
        if status not in allowed or changed:
            wrong.append(f"{what}: {status}, changed {changed}")

    customer, member = world.client(CUSTOMER), world.client(MEMBER_A)
    token = csrf_token(customer.get("/keranjang").get_data(as_text=True))
    for value in HUGE[:3] + ["²", "0"]:
        for path in ("/keranjang/tambah", "/keranjang/ubah"):
            check(f"POST {path} product_id={value}", lambda: customer.post(
                path, data={"csrf_token": token, "product_id": value, "quantity": "1"}), {303})
        check(f"paper covering product {value}", lambda: member.post(
            "/portal/dokumen/baru", content_type="multipart/form-data",
            data=_paper_with_products(member, [value])), {200, 422})
        check(f"edit with stock_seen={value}",
              lambda: post_edit(member, world.pa, stock="3", stock_seen=value), {422})
    quoted, data = quote(customer, JAWA_TIMUR)
    assert quoted.status_code == 200
    for value in HUGE[:3] + ["²"]:
        check(f"checkout with expected_total={value}", lambda: place(customer, data, value), {422})
    assert not wrong, "\n".join(wrong)


def _paper_with_products(client, product_ids):
    """The portal's paper form, valid but for the products it covers."""
    import io
    from datetime import timedelta

    from storefront.clock import today_wita

    from .test_access_matrix import _png

    page = client.get("/portal/dokumen/baru").get_data(as_text=True)
    return {"csrf_token": csrf_token(page), "kind": "pirt", "number": "P-IRT No. 2105309999999-30",
            "issued_on": "2024-01-15", "expires_on": (today_wita() + timedelta(days=300)).isoformat(),
            "products": product_ids, "scan": (io.BytesIO(_png()), "scan.png")}
