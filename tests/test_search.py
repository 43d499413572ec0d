"""Search: every word (or one of its synonyms) must appear in the product, its village or its
category, whatever indexes or query shape answer it; the village box ranks the matching villages
by products on sale. The order of the results and typos: tests/test_search_relevance.py."""
import pytest
from sqlalchemy import select

from storefront.catalog import browse, search
from storefront.catalog.caching import catalogue_version
from storefront.extensions import db
from storefront.products.models import Category
from storefront.villages.models import Village

from .factories import make_certificate, make_certified_village, make_product, make_sellable_food

QUERIES = [
    "arabika", "BAJAWA kopi", "mengkudu", "mosu", "Ina NDAO", "hewokloang", "woven", "coffee beiposo",
    "honey", "mos-ten", "sku", "ik", "a", "kopi tenun", "gula madu", "%", "_", "tidak-ada",
    "Ikat mosu sarung", "&",
]


@pytest.fixture
def shop(app):
    """Villages, categories and products whose words overlap in every way a search can meet."""
    mosu = make_certified_village(name="Mosu", group_name="Kelompok Tenun Ina Ndao",
                                  district="Hewokloang", story="Penenun ikat di pesisir.")
    beiposo = make_certified_village(name="Beiposo", group_name="Koperasi Kopi Beiposo",
                                     district="Bajawa", story="Kopi arabika di lereng Inerie.")
    make_sellable_food(beiposo, "kopi", name="Kopi Arabika Bajawa", description="Biji sangrai.")
    make_sellable_food(beiposo, "gula-madu", name="Madu Hutan", description="Dari lebah liar.")
    make_product(mosu, "tenun", name="Sarung Ikat", description="Pewarna alami mengkudu",
                 sku="MOS-TEN-001")
    make_product(mosu, "kerajinan", name="Tas Anyaman", description="Lontar.")
    make_product(mosu, "kopi", name="Kopi Tanpa Izin")  # food without papers: never found


def _found(q):
    return {p.slug for p in db.session.scalars(browse.catalog_statement(browse.Filters(q=q))).unique()}


def _by_definition(q):
    """What the README promises, in Python: each word, ignoring case, or one of the Indonesian
    words it stands for (``search.SYNONYMS``), in one of the fields."""
    products = db.session.scalars(browse.catalog_statement(browse.Filters())).unique().all()
    categories = {c.id: c for c in db.session.scalars(select(Category))}
    found = set()
    for p in products:
        category = categories[p.category_id]
        fields = [p.name, p.description, p.sku, p.village.name, p.village.group_name,
                  p.village.district, category.name_id, category.name_en]
        text = "\n".join(fields).lower()
        if all(any(w.lower() in text for w in (word,) + search.synonyms_of(word))
               for word in q.split()[:search.MAX_TERMS]):
            found.add(p.slug)
    return found


@pytest.mark.parametrize("q", QUERIES)
def test_search_finds_exactly_the_products_holding_every_word(shop, q):
    assert _found(q) == _by_definition(q)


def test_search_finds_the_same_when_a_word_is_held_by_many_villages(shop, monkeypatch):
    """Past ``MAX_LISTED_VILLAGES`` the villages holding a word stay a subquery: same answer."""
    listed = {q: _found(q) for q in QUERIES}
    monkeypatch.setattr(search, "MAX_LISTED_VILLAGES", 0)
    assert {q: _found(q) for q in QUERIES} == listed


def test_search_page_matches_village_group_district_and_category_names(shop, client):
    def shown(q):
        html = client.get("/cari", query_string={"q": q}).get_data(as_text=True)
        return {s for s in browse_links(html)}

    assert shown("Ina Ndao") == {"Sarung Ikat", "Tas Anyaman"}  # group name
    assert shown("hewokloang") == {"Sarung Ikat", "Tas Anyaman"}  # district
    assert shown("woven") == {"Sarung Ikat", "Tas Anyaman"}  # category, English name; Mosu's "Tenun" group
    assert shown("madu") == {"Madu Hutan"}  # product and category (Gula & Madu)
    # Beiposo's group is a "Koperasi Kopi"; the coffee without papers is never shown.
    assert shown("kopi") == {"Kopi Arabika Bajawa", "Madu Hutan"}


def browse_links(html):
    import re

    return re.findall(r'<span class="card-name">([^<]+)</span>', html)


def test_village_box_ranks_matching_villages_by_products_on_sale(app, client, count_queries):
    one = make_certified_village(name="Lewo Satu", story="Tenun dari lewo.")
    three = make_certified_village(name="Nua Tiga", district="Lewoleba")
    none = make_certified_village(name="Desa Kosong", group_name="Kelompok Lewo")
    make_certified_village(name="Tidak Cocok")  # holds no word of the search
    suspended = make_certified_village(name="Lewo Ditutup", active=False)
    make_product(suspended, "tenun")
    for _ in range(3):
        make_product(three, "tenun")
    make_product(one, "tenun")
    make_product(one, "kopi")  # food without papers: not on sale, not counted
    make_certificate(one, "trademark")

    expected = [(three.slug, 3), (one.slug, 1), (none.slug, 0)]
    ranked = lambda: [(v.slug, n) for v, n in browse.search_villages("lewo")]  # noqa: E731
    assert ranked() == expected
    assert [(v.slug, n) for v, n in db.session.execute(
        browse.villages_with_counts(search="LEWO")).all()] == expected
    assert [v.slug for v, _ in browse.search_villages("lewo tenun")] == [one.slug]

    # Counted once per catalogue version: later requests only load the villages shown.
    app.config["COUNT_CACHE"] = True
    counts = []
    with app.test_request_context():
        catalogue_version()
        for _ in range(2):
            with count_queries() as counter:
                assert ranked() == expected
            counts.append([("count(" in sql.lower()) for sql in counter.statements])
    assert counts == [[True], [False]]  # the ranking, then only the villages it names
    html = client.get("/cari?q=lewo").get_data(as_text=True)
    assert html.index(three.slug) < html.index(one.slug) < html.index(none.slug)
    assert suspended.slug not in html


def test_search_by_words_of_a_village_that_is_not_active_finds_nothing(client):
    village = make_certified_village(name="Watuwawer")
    make_product(village, "tenun")
    assert "Watuwawer" in client.get("/cari?q=watuwawer").get_data(as_text=True)
    db.session.get(Village, village.id).active = False
    db.session.commit()
    html = client.get("/cari?q=watuwawer").get_data(as_text=True)
    assert 'href="/produk/' not in html and f'href="/desa/{village.slug}"' not in html


def test_home_and_village_list_rank_villages_as_the_counting_query_does(app, client, count_cache):
    """Most products on sale first, then by name; one regency's villages keep that order."""
    import re

    villages = [make_certified_village(name=f"Desa {i % 7:02d}", regency_code="53.09" if i % 3 else "53.07")
                for i in range(33)]
    for i, village in enumerate(villages[:12]):
        for _ in range(i % 4):
            make_product(village, "tenun")
    make_product(villages[20], "kopi")  # food without papers: counts for nothing
    by_sql = [(v.slug, n) for v, n in db.session.execute(browse.villages_with_counts()).all()]
    assert [(v.slug, n) for v, n in browse.top_villages(6)] == by_sql[:6]
    for _ in range(2):  # counted, then (with the count cache) remembered
        listed = []
        for page in (1, 2, 3):
            html = client.get(f"/desa?page={page}").get_data(as_text=True)
            listed += re.findall(r'href="/desa/([^"]+)"><strong>', html)
        assert listed == [slug for slug, _ in by_sql]
        ngada = re.findall(r'href="/desa/([^"]+)"><strong>',
                           client.get("/desa?kabupaten=53.09").get_data(as_text=True))
        assert ngada == [slug for slug, _ in db.session.execute(
            browse.villages_with_counts(regency="53.09", columns=(Village.slug,))).all()]
        home = client.get("/").get_data(as_text=True)
        shown = [s for s in re.findall(r'href="/desa/([^"]+)"', home) if s.startswith("desa-")]
        assert shown == [slug for slug, _ in by_sql[:6]]


@pytest.fixture(params=[False, True], ids=["counted", "remembered"])
def count_cache(request, app):
    app.config["COUNT_CACHE"] = request.param
    return request.param
