"""The pages every shop has (issue 17): about, how to buy, how to pay, shipping, returns and
complaints, privacy, terms. Linked from every page's footer, in Indonesian and English, written
for this shop, light and cacheable; the office edits them (Markdown, no HTML of its own) and
every edit is kept (who, when)."""
import html as htmllib
import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from storefront.extensions import db
from storefront.pages.markup import render_markdown
from storefront.pages.models import PageRevision
from storefront.pages.services import PAGES

from .browser.language import untranslated
from .conftest import csrf_token
from .factories import make_certified_village, make_user, sign_in

# The office's shop pages join its blueprint here until storefront/office/__init__.py lists them
# (the app is built after the tests are collected).

SLUGS = list(PAGES)


def text(response):
    return htmllib.unescape(response.get_data(as_text=True))


def shown(response):
    """What a person reads on the page: the text of <main>, tags removed."""
    page = response.get_data(as_text=True)
    main = page[page.index('<main id="main"'):page.index("</main>")]
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", main)).split())


def revisions():
    db.session.expire_all()
    return db.session.scalars(select(PageRevision).order_by(PageRevision.id)).all()


def office(app, role="verifier", name=None):
    client = app.test_client()
    user = make_user(role)
    if name:
        user.name = name
        db.session.commit()
    sign_in(client, user)
    return client


def edit_form(client, slug):
    """The office's form for ``slug`` as a browser would send it back unchanged."""
    page = client.get(f"/kantor/halaman/{slug}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)

    def value(name):
        return htmllib.unescape(re.search(rf'name="{name}"[^>]*value="([^"]*)"', body).group(1))

    def area(name):
        return htmllib.unescape(re.search(rf'<textarea[^>]*name="{name}"[^>]*>\r?\n?(.*?)</textarea>', body,
                                          re.S).group(1))

    return {"csrf_token": csrf_token(body), "replaces": value("replaces"), "title_id": value("title_id"),
            "body_id": area("body_id"), "title_en": value("title_en"), "body_en": area("body_en"),
            "action": "save"}


# --- the public pages ------------------------------------------------------------------------------

def test_every_page_of_the_shop_links_them_all_from_its_footer(client):
    for path in ("/", "/produk", "/keranjang", "/tentang"):
        page = text(client.get(path))
        footer = page[page.index('<footer class="site">'):]
        nav = footer[footer.index("<nav"):footer.index("</nav>")]
        assert re.findall(r'href="/([a-z-]+)"', nav) == SLUGS, path
        assert "Tentang program" in nav and "Cara belanja" in nav and "Privasi" in nav


@pytest.mark.parametrize("slug", SLUGS)
def test_each_page_speaks_indonesian_first_and_english_on_request(client, slug):
    indonesian = client.get(f"/{slug}")
    assert indonesian.status_code == 200
    words = shown(indonesian)
    assert '<html lang="id"' in indonesian.get_data(as_text=True)
    assert untranslated(words, "id") == [], slug
    assert "{{" not in words and "<" not in words
    client.get("/bahasa/en")
    english = client.get(f"/{slug}")
    assert english.status_code == 200 and '<html lang="en"' in english.get_data(as_text=True)
    assert untranslated(shown(english), "en") == [], slug
    assert shown(english) != words


def test_the_pages_say_what_this_shop_does(app, client):
    """Facts of this shop, and its settings as they are."""
    about = shown(client.get("/tentang"))
    assert "Pemerintah Provinsi Nusa Tenggara Timur" in about and "44 desa" in about
    pay = shown(client.get("/cara-bayar"))
    assert "Transfer bank" in pay and "Stripe" in pay and "Bayar di tempat" in pay and "48 jam" in pay
    returns = shown(client.get("/pengembalian"))
    assert "rusak" in returns and "halaman pesanan" in returns and "ongkos kirimnya" in returns
    app.config.update(DELIVERED_AFTER_DAYS=10, BANK_TRANSFER_HOURS=24, OFFICE_NAME="Dinas Uji NTT")
    shipping = shown(client.get("/pengiriman"))
    assert "10 hari setelah dikirim" in shipping and "14 hari" not in shipping
    assert "24 jam" in shown(client.get("/cara-bayar"))
    assert "dikelola oleh Dinas Uji NTT" in shown(client.get("/privasi"))
    client.get("/bahasa/en")
    assert "10 days after it was sent" in shown(client.get("/pengembalian"))


def test_the_shipping_page_lists_todays_rates_per_kilogram(client):
    page = text(client.get("/pengiriman"))
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>([^<]+)</td></tr>', page)
    assert rows == [("Di kabupaten desa itu sendiri", "Rp 12.000"), ("Di tempat lain di Nusa Tenggara Timur", "Rp 25.000"),
                    ("Di tempat lain di Indonesia", "Rp 55.000")]
    assert '<caption>' in page


def test_unknown_pages_are_not_found(client):
    assert client.get("/tentang-kami").status_code == 404
    assert client.get("/kantor/halaman/tidak-ada").status_code in (302, 404)


def test_anonymous_visitors_get_a_shared_page_and_304_until_it_changes(app, client, count_queries):
    first = client.get("/cara-belanja")
    etag = first.headers["ETag"]
    assert "public" in first.headers["Cache-Control"] and "no-cache" in first.headers["Cache-Control"]
    assert "Set-Cookie" not in first.headers and 'name="csrf_token"' not in first.get_data(as_text=True)
    with count_queries() as queries:
        again = client.get("/cara-belanja", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert queries.count == 1  # the page's text; nothing else
    with count_queries() as queries:
        assert client.get("/pengiriman").status_code == 200
    assert queries.count == 2  # the text and the shipping rates
    # English is another page.
    client.get("/bahasa/en")
    assert client.get("/cara-belanja", headers={"If-None-Match": etag}).status_code == 200

    editor = office(app)
    form = edit_form(editor, "cara-belanja")
    form["body_id"] = "Teks **baru** dari kantor.\n"
    assert editor.post("/kantor/halaman/cara-belanja", data=form).status_code == 303
    client.set_cookie("lang", "id", domain="shop.test")
    changed = client.get("/cara-belanja", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "Teks baru dari kantor." in shown(changed)
    assert changed.headers["ETag"] != etag


def test_a_new_shipping_rate_changes_the_shipping_pages_etag(client):
    from storefront.checkout.shipping import set_rates
    from storefront.unit_of_work import unit_of_work

    etag = client.get("/pengiriman").headers["ETag"]
    with unit_of_work():
        set_rates({"same_regency": 13000, "ntt": 25000, "indonesia": 55000})
    page = client.get("/pengiriman", headers={"If-None-Match": etag})
    assert page.status_code == 200 and "Rp 13.000" in text(page)


def test_signed_in_people_get_a_page_of_their_own(app, client):
    sign_in(client, make_user())
    page = client.get("/privasi")
    assert page.status_code == 200 and "private" in page.headers["Cache-Control"]
    assert "ETag" not in page.headers and "Akun saya" in text(page)


# --- the office edits them -------------------------------------------------------------------------

def test_the_office_lists_the_pages_with_their_last_edit(app):
    editor = office(app, name="Ibu Verifikator")
    listing = text(editor.get("/kantor/halaman"))
    assert listing.count("Teks bawaan, belum pernah diubah") == len(SLUGS)
    form = edit_form(editor, "privasi")
    form["title_id"] = "Privasi Anda"
    assert editor.post("/kantor/halaman/privasi", data=form).status_code == 303
    listing = text(editor.get("/kantor/halaman"))
    assert listing.count("Teks bawaan, belum pernah diubah") == len(SLUGS) - 1
    assert "oleh Ibu Verifikator" in listing and 'href="/privasi"' in listing


def test_the_office_saves_a_page_in_both_languages_and_the_shop_shows_it_at_once(app, client):
    editor = office(app, name="Pak Kantor")
    form = edit_form(editor, "tentang")
    assert form["replaces"] == "0" and form["title_id"].startswith("Tentang program")
    assert "{{" not in form["body_id"]  # the shop's settings are filled in
    form.update(title_id="Tentang kami", body_id="# Program\r\n\r\nKopi **Bajawa** dan [desa](/desa).\r\n",
                title_en="About us", body_en="## Programme\n\nBajawa *coffee*.")
    answer = editor.post("/kantor/halaman/tentang", data=form)
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/kantor/halaman/tentang")
    [saved] = revisions()
    assert (saved.slug, saved.title_id, saved.title_en, saved.replaces_id) == ("tentang", "Tentang kami", "About us", 0)
    assert saved.body_id == "# Program\n\nKopi **Bajawa** dan [desa](/desa).\n"  # line ends as \n
    assert saved.editor_name.startswith("Pak Kantor (") and saved.editor_id is not None

    page = client.get("/tentang").get_data(as_text=True)
    assert "<h1>Tentang kami</h1>" in page and "<h2>Program</h2>" in page  # one h1: the title
    assert "Kopi <strong>Bajawa</strong> dan <a href=\"/desa\">desa</a>." in page
    assert "Terakhir diubah" in page
    client.get("/bahasa/en")
    page = client.get("/tentang").get_data(as_text=True)
    assert "<h1>About us</h1>" in page and "Bajawa <em>coffee</em>." in page

    history = text(editor.get("/kantor/halaman/tentang"))
    assert "Halaman disimpan. Toko kini menampilkan teks yang baru." in history
    assert re.search(r"oleh Pak Kantor \([^)]+\): mengubah judul bahasa Indonesia, teks bahasa Indonesia, "
                     r"judul bahasa Inggris, teks bahasa Inggris", history), history[history.index("Riwayat"):][:600]


def test_no_html_from_the_form_reaches_the_page(app, client):
    editor = office(app)
    form = edit_form(editor, "syarat")
    form["body_id"] = ('<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n'
                       '[klik](javascript:alert(3)) [data](data:text/html;base64,PHNjcmlwdD4=) '
                       '![foto](https://evil.example/x.png) <a href="https://evil.example">a</a>\n\n'
                       '| Kolom | Angka |\n|:--|--:|\n| a | 1 |\n')
    assert editor.post("/kantor/halaman/syarat", data=form).status_code == 303
    page = client.get("/syarat").get_data(as_text=True)
    article = page[page.index("<article"):page.index("</article>")]
    assert "<script" not in article and "<img" not in article
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in article and "&lt;img src=x onerror=alert(2)&gt;" in article
    # Only the Markdown link of the image (shown as a link, not loaded); no javascript: or data:
    # link, and the typed <a> is text.
    assert re.findall(r'href="([^"]*)"', article) == ["https://evil.example/x.png"]
    assert '&lt;a href=&quot;https://evil.example&quot;&gt;a&lt;/a&gt;' in article
    assert "[klik](javascript:alert(3))" in article  # shown as the text it is
    assert '<th scope="col">Kolom</th>' in article and "style=" not in article


def test_preview_shows_the_text_and_saves_nothing(app):
    editor = office(app)
    form = edit_form(editor, "cara-bayar")
    form.update(action="preview", body_en="Pay by **transfer**.")
    answer = editor.post("/kantor/halaman/cara-bayar", data=form)
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "Pratinjau" in page and "Pay by <strong>transfer</strong>." in page
    assert "Pay by **transfer**." in text(answer)  # still in the form, to go on editing
    assert revisions() == []


def test_saving_the_same_text_saves_nothing(app):
    editor = office(app)
    answer = editor.post("/kantor/halaman/pengiriman", data=edit_form(editor, "pengiriman"),
                         follow_redirects=True)
    assert "Tidak ada yang berubah" in text(answer)
    assert revisions() == []


@pytest.mark.parametrize("change, message", [
    ({"title_id": "  "}, "Beri judul halaman ini."),
    ({"body_en": ""}, "Tulis teks halaman ini."),
    ({"title_en": "x" * 121}, "120"),
    ({"body_id": "x" * 20_001}, "20000"),
])
def test_a_refused_edit_says_why_keeps_the_text_and_saves_nothing(app, change, message):
    editor = office(app)
    form = {**edit_form(editor, "privasi"), **change}
    answer = editor.post("/kantor/halaman/privasi", data=form)
    assert answer.status_code == 422
    assert message in text(answer)
    assert revisions() == []


def test_two_editors_never_overwrite_each_other(app):
    first, second = office(app, name="Editor Satu"), office(app, name="Editor Dua")
    form_one, form_two = edit_form(first, "pengembalian"), edit_form(second, "pengembalian")
    form_one["title_id"] = "Pengembalian (versi satu)"
    assert first.post("/kantor/halaman/pengembalian", data=form_one).status_code == 303
    form_two["title_id"] = "Pengembalian (versi dua)"
    refused = second.post("/kantor/halaman/pengembalian", data=form_two)
    assert refused.status_code == 409
    page = text(refused)
    assert "Orang lain menyimpan halaman ini" in page
    assert 'value="Pengembalian (versi dua)"' in page and "Pengembalian (versi satu)" in page
    assert [r.title_id for r in revisions()] == ["Pengembalian (versi satu)"]
    # The refused form now names the text saved meanwhile: sending it again replaces that one.
    again = {**form_two, "csrf_token": csrf_token(refused.get_data(as_text=True)),
             "replaces": re.search(r'name="replaces"[^>]*value="(\d+)"', refused.get_data(as_text=True)).group(1)}
    assert second.post("/kantor/halaman/pengembalian", data=again).status_code == 303
    saved = revisions()
    assert [r.title_id for r in saved] == ["Pengembalian (versi satu)", "Pengembalian (versi dua)"]
    assert saved[1].replaces_id == saved[0].id


def test_two_saves_from_the_same_text_meet_the_unique_key(app):
    rows = [PageRevision(slug="syarat", title_id="A", body_id="a\n", title_en="A", body_en="a\n", replaces_id=0,
                         editor_name="test") for _ in range(2)]
    db.session.add(rows[0])
    db.session.commit()
    db.session.add(rows[1])
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(PageRevision)) == 1


@pytest.mark.parametrize("role", ["customer", "village_member", None])
def test_only_the_office_edits_the_pages(app, client, role):
    if role:
        sign_in(client, make_user(role, village=make_certified_village() if role == "village_member" else None))
        token = csrf_token(client.get("/masuk").get_data(as_text=True))
    else:
        token = "x"
    assert client.get("/kantor/halaman").status_code == (403 if role else 302)
    answer = client.post("/kantor/halaman/tentang", data={
        "csrf_token": token, "replaces": "0", "title_id": "Diretas", "body_id": "x", "title_en": "Hacked",
        "body_en": "x", "action": "save"})
    assert answer.status_code in ((403,) if role else (302, 400))
    assert revisions() == []
    assert "Diretas" not in text(client.get("/tentang"))


# --- the Markdown -----------------------------------------------------------------------------------

def test_markdown_makes_no_html_of_its_own():
    html = render_markdown("# Judul\n\nTeks <b>tebal</b> dan [x](javascript:alert(1)) ![f](/static/x.png)\n\n"
                           "| a | b |\n|:-|-:|\n| 1 | 2 |\n")
    assert html.startswith("<h2>Judul</h2>")
    assert "&lt;b&gt;tebal&lt;/b&gt;" in html and "<b>" not in html
    assert "<img" not in html and '<a href="/static/x.png">f</a>' in html  # an image is only a link
    assert "[x](javascript:alert(1))" in html and "href=\"javascript" not in html  # shown as text only
    assert '<th scope="col">a</th>' in html and "<td>2</td>" in html and "style" not in html


@pytest.mark.parametrize("field", ["title_id", "body_id", "title_en", "body_en", "replaces", "action"])
def test_hostile_values_never_fail_the_server_nor_come_back_unescaped(app, field):
    editor = office(app)
    for value in ("", " ", "<script>alert(1)</script>", "\"><svg onload=alert(1)>", "9" * 40, "-1",
                  "😀🇮🇩", "\u202eevil", "{{7*7}}", "x" * 25_000, "a\r\nSet-Cookie: x=1"):
        answer = editor.post("/kantor/halaman/tentang", data={**edit_form(editor, "tentang"), field: value})
        assert answer.status_code < 500, (field, value[:20], answer.status_code)
        body = answer.get_data(as_text=True)
        assert "<script>alert(1)" not in body and "<svg onload" not in body
    db.session.expire_all()
    for revision in revisions():  # whatever was saved is the text typed, never markup of its own
        assert "<script>" not in render_markdown(revision.body_id) + render_markdown(revision.body_en)
