"""The village portal's listings, as a member drives them: add and change the village's own
products and photos, see what keeps each one out of the shop, and never reach another village's.

Pages are read in English (msgids), so the checks do not depend on the translation catalogue.
"""
import html as htmllib
import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select, update

from storefront.extensions import db
from storefront.legality.models import certificate_products
from storefront.products.models import Product, ProductPhoto, ProductRevision
from storefront.villages.models import Village

from .conftest import csrf_token
from .factories import (category, make_certificate, make_certified_village, make_product, make_sellable_food,
                        make_user, make_village, office_approves, sign_in)
from .images import MB, peak_memory, phone_photo, png_of_size
from .visibility import assert_hidden, assert_visible


def text(response):
    return htmllib.unescape(response.get_data(as_text=True))


def member_client(app, village):
    client = app.test_client()
    sign_in(client, make_user("village_member", village))
    client.get("/bahasa/en")
    return client


def image_bytes(fmt="JPEG", size=(1600, 1200), mode="RGB", color=(150, 90, 40)):
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt)
    return out.getvalue()


def field_errors(page, name):
    """The messages shown at one field of a form page."""
    return [htmllib.unescape(m) for m in re.findall(rf'<p class="error" id="{name}-error"[^>]*>(.*?)</p>', page, re.S)]


def shown_value(page, name):
    """What a text box of the page holds."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"|<input[^>]*value="([^"]*)"[^>]*name="{name}"', page)
    return htmllib.unescape(next(g for g in match.groups() if g is not None)) if match else None


def product_fields(**changes):
    fields = {"name": "Kopi Arabika Uji 250 g", "category": str(category("kopi").id),
              "description": "Sangrai sedang.", "price_idr": "85.000", "weight_grams": "250",
              "stock": "12", "published": "y"}
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


def post_new(client, photos=(), **changes):
    page = text(client.get("/portal/produk/baru"))
    data = {"csrf_token": csrf_token(page), **product_fields(**changes)}
    if photos:
        data["photos"] = [(io.BytesIO(content), name) for content, name in photos]
    return client.post("/portal/produk/baru", data=data, content_type="multipart/form-data")


def edit_fields(page, **changes):
    """The edit form as the browser would send it back, with ``changes`` typed over it."""
    def value(name):
        match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
        return htmllib.unescape(match.group(1)) if match else ""

    fields = {"csrf_token": csrf_token(page), "stock_seen": value("stock_seen")}
    for name in ("name", "price_idr", "weight_grams", "stock"):
        fields[name] = value(name)
    fields["category"] = re.search(r'<option selected value="(\d+)"|<option value="(\d+)" selected', page)
    fields["category"] = next(g for g in fields["category"].groups() if g)
    fields["description"] = htmllib.unescape(
        re.search(r'<textarea[^>]*name="description"[^>]*>\s*(.*?)</textarea>', page, re.S).group(1))
    for box in ("published", "non_halal"):
        if re.search(rf'<input[^>]*checked[^>]*name="{box}"|<input[^>]*name="{box}"[^>]*checked', page):
            fields[box] = "y"
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


def post_edit(client, product_id, photos=(), **changes):
    page = client.get(f"/portal/produk/{product_id}/ubah").get_data(as_text=True)
    data = edit_fields(page, **changes)
    if photos:
        data["photos"] = [(io.BytesIO(content), name) for content, name in photos]
    return client.post(f"/portal/produk/{product_id}/ubah", data=data, content_type="multipart/form-data")


def fresh(product_id):
    db.session.expire_all()
    return db.session.get(Product, product_id)


def only_product(village):
    db.session.expire_all()
    return db.session.scalars(select(Product).where(Product.village_id == village.id)).one()


def media_files(app):
    root = Path(app.config["MEDIA_ROOT"])
    return sorted(p.name for p in root.glob("*")) if root.exists() else []


# --- a new product waits for its papers -----------------------------------------------------------


def test_a_new_food_product_stays_hidden_until_its_papers_are_verified(app, client):
    village = make_certified_village()
    member = member_client(app, village)

    response = post_new(member)
    assert response.status_code == 303
    product = only_product(village)
    assert response.headers["Location"].endswith(f"/portal/produk/{product.id}/ubah")
    assert (product.name, product.price_idr, product.stock, product.weight_grams) == \
        ("Kopi Arabika Uji 250 g", 85000, 12, 250)
    assert product.published and product.slug == "kopi-arabika-uji-250-g"
    assert re.fullmatch(r"[A-Z0-9]{1,3}-KOPI-001", product.sku)
    assert_hidden(client, product, village.slug)

    form = text(member.get(f"/portal/produk/{product.id}/ubah"))
    assert "Waiting for the office's review" in form
    assert "food permit for this product (P-IRT or BPOM MD)" in form
    assert "halal certificate for this product" in form
    assert "business number (NIB)" not in form  # the village holds its NIB
    assert 'href="/portal/dokumen/baru"' in form
    listing = text(member.get("/portal/produk"))
    assert product.name in listing and "Waiting for the office's review" in listing
    office_approves(app, product)
    listing = text(member.get("/portal/produk"))
    assert "Waiting for papers" in listing

    # The P-IRT is sent: the form says the office is checking it; the halal one is still to send.
    pirt = make_certificate(village, "pirt", [product], status="pending")
    form = text(member.get(f"/portal/produk/{product.id}/ubah"))
    assert f'href="/portal/dokumen/{pirt.id}"' in form and "the office is checking it" in form
    assert_hidden(client, product, village.slug)

    make_certificate(village, "pirt", [product])
    make_certificate(village, "halal", [product])
    assert_visible(client, product, village.slug)
    form = text(member.get(f"/portal/produk/{product.id}/ubah"))
    assert "On sale" in form and "Buyers cannot see it yet" not in form


def test_a_rejected_paper_is_offered_for_correction(app):
    village = make_certified_village()
    product = make_product(village, "kopi", non_halal=True)
    rejected = make_certificate(village, "pirt", [product], status="rejected")
    page = text(member_client(app, village).get(f"/portal/produk/{product.id}/ubah"))
    assert f'href="/portal/dokumen/{rejected.id}/ajukan-ulang"' in page
    assert "A halal certificate for this product" not in page  # declared non-halal: none needed


def test_without_a_nib_even_a_handicraft_waits(app, client):
    village = make_village()  # no papers at all
    member = member_client(app, village)
    assert post_new(member, name="Selendang Tenun Ikat", category=str(category("tenun").id)).status_code == 303
    product = only_product(village)
    assert_hidden(client, product, village.slug)
    page = text(member.get(f"/portal/produk/{product.id}/ubah"))
    assert "business number (NIB)" in page and "food permit" not in page
    make_certificate(village, "nib")
    assert_hidden(client, product, village.slug)  # papers alone are not enough: the office reviews it
    office_approves(app, product)
    assert_visible(client, product, village.slug)  # the listing rule decides: the NIB is its paper


def test_unpublishing_hides_at_once_and_says_so(app, client):
    product = make_sellable_food()
    member = member_client(app, db.session.get(Village, product.village_id))
    assert post_edit(member, product.id, published=None).status_code == 303
    assert fresh(product.id).published is False
    assert client.get(f"/produk/{product.slug}").status_code == 404
    assert "Hidden by you" in text(member.get("/portal/produk"))
    assert post_edit(member, product.id, published="y").status_code == 303
    assert client.get(f"/produk/{product.slug}").status_code == 200


# --- another village's products do not exist here -------------------------------------------------


def test_a_member_cannot_see_or_change_another_villages_product(app):
    mine, theirs = make_certified_village(), make_certified_village()
    other = make_sellable_food(theirs, name="Madu Hutan Desa Lain", price_idr=90000)
    photo_key = "madu-hutan-0000aaaa"
    db.session.add(ProductPhoto(product_id=other.id, position=0, key=photo_key))
    db.session.commit()
    member = member_client(app, mine)

    assert member.get(f"/portal/produk/{other.id}/ubah").status_code == 404
    assert "Madu Hutan Desa Lain" not in text(member.get("/portal/produk"))
    page = text(member.get("/portal/produk/baru"))
    answer = member.post(f"/portal/produk/{other.id}/ubah", content_type="multipart/form-data",
                         data={"csrf_token": csrf_token(page), "stock_seen": "10",
                               **product_fields(name="Diambil alih", price_idr="1")})
    assert answer.status_code == 404
    assert member.post(f"/portal/produk/{other.id}/foto/{photo_key}/hapus",
                       data={"csrf_token": csrf_token(page)}).status_code == 404
    assert member.post(f"/portal/produk/{other.id}/usulan/tarik",
                       data={"csrf_token": csrf_token(page)}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(ProductRevision)) == 0
    after = fresh(other.id)
    assert (after.name, after.price_idr) == ("Madu Hutan Desa Lain", 90000)
    assert db.session.scalar(select(func.count()).select_from(ProductPhoto)) == 1


def test_only_members_reach_the_listings(app, client):
    product = make_sellable_food()
    assert client.get("/portal/produk").status_code == 302
    customer = app.test_client()
    sign_in(customer, make_user("customer"))
    for url in ("/portal/produk", "/portal/produk/baru", f"/portal/produk/{product.id}/ubah"):
        assert customer.get(url).status_code == 403


def test_a_photo_of_another_product_cannot_be_removed_through_mine(app):
    village = make_certified_village()
    first, second = make_product(village, "tenun"), make_product(village, "tenun")
    db.session.add(ProductPhoto(product_id=second.id, position=0, key="kain-0000bbbb"))
    db.session.commit()
    member = member_client(app, village)
    page = text(member.get(f"/portal/produk/{first.id}/ubah"))
    assert member.post(f"/portal/produk/{first.id}/foto/kain-0000bbbb/hapus",
                       data={"csrf_token": csrf_token(page)}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(ProductPhoto)) == 1
    assert db.session.scalar(select(func.count()).select_from(ProductRevision)) == 0


# --- photos ---------------------------------------------------------------------------------------


def test_photos_are_stored_in_two_sizes_and_can_be_removed(app):
    village = make_certified_village()
    member = member_client(app, village)
    response = post_new(member, photos=[(image_bytes("JPEG", (2400, 1800)), "kopi.jpg"),
                                        (image_bytes("PNG", (500, 800), "RGBA", (0, 0, 0, 0)), "label.png"),
                                        (image_bytes("WEBP", (300, 300)), "bungkus.webp")])
    assert response.status_code == 303
    product = only_product(village)
    photos = db.session.scalars(select(ProductPhoto).where(ProductPhoto.product_id == product.id)
                                .order_by(ProductPhoto.position)).all()
    assert [p.position for p in photos] == [0, 1, 2]
    root = Path(app.config["MEDIA_ROOT"])
    for photo in photos:
        small, large = (Image.open(root / f"{photo.key}-{s}.jpg") for s in ("s", "l"))
        assert small.format == large.format == "JPEG"
        assert max(small.size) <= 360 and max(large.size) <= 960
    assert Image.open(root / f"{photos[0].key}-l.jpg").size == (960, 720)
    assert Image.open(root / f"{photos[1].key}-s.jpg").getpixel((10, 10)) > (240, 240, 240)  # white, not black
    page = text(member.get(f"/portal/produk/{product.id}/ubah"))
    assert f"/media/{photos[0].key}-s.jpg" in page

    # One more through the edit form goes after the others.
    assert post_edit(member, product.id, photos=[(image_bytes(), "lagi.jpg")]).status_code == 303
    assert db.session.scalar(select(func.max(ProductPhoto.position))) == 3

    page = text(member.get(f"/portal/produk/{product.id}/ubah"))
    assert member.post(f"/portal/produk/{product.id}/foto/{photos[0].key}/hapus",
                       data={"csrf_token": csrf_token(page)}).status_code == 303
    assert not (root / f"{photos[0].key}-s.jpg").exists() and not (root / f"{photos[0].key}-l.jpg").exists()
    assert db.session.scalar(select(func.count()).select_from(ProductPhoto)) == 3


@pytest.mark.parametrize("content, name, message", [
    (b"just some text", "kopi.jpg", "Only JPEG, PNG or WebP photos"),
    (b"", "kosong.jpg", "The photo file is empty."),
    (b"GIF89a" + b"\x00" * 40, "anim.gif", "Only JPEG, PNG or WebP photos"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "rusak.jpg", "could not be read"),
    ("bomb", "besar.png", "The photo is too large to process (10000 × 6000 pixels)."),
    ("big", "besar.jpg", "The photo is larger than 20 MB."),
])
def test_a_bad_photo_is_refused_and_nothing_is_stored(app, content, name, message):
    village = make_certified_village()
    member = member_client(app, village)
    if content == "bomb":
        content = png_of_size(10000, 6000)  # 60 megapixels with transparency in 230 KB
    elif content == "big":
        content = b"\xff\xd8\xff\xe0" + b"\x00" * (20 * MB - 3)
    good = (image_bytes(), "baik.jpg")
    response = post_new(member, photos=[good, (content, name)], name="Kopi Bajawa Pilihan", price_idr="85rb")
    assert response.status_code == 422
    # Back on the same form: the message at the photo field, naming the file; what was typed kept.
    page = text(response)
    [error] = field_errors(page, "photos")
    assert message in error and error.startswith(name)
    assert (shown_value(page, "name"), shown_value(page, "price_idr")) == ("Kopi Bajawa Pilihan", "85rb")
    assert db.session.scalar(select(func.count()).select_from(Product)) == 0
    assert db.session.scalar(select(func.count()).select_from(ProductPhoto)) == 0
    assert media_files(app) == []


def test_a_bad_photo_on_the_edit_form_changes_nothing(app):
    village = make_certified_village()
    product = make_product(village, "tenun", name="Sarung Lama", price_idr=300000)
    member = member_client(app, village)
    response = post_edit(member, product.id, photos=[(b"%PDF-1.4 not a photo", "foto.jpg")],
                         name="Sarung Baru", price_idr="350000")
    assert response.status_code == 422 and "Only JPEG, PNG or WebP photos" in text(response)
    assert (fresh(product.id).name, fresh(product.id).price_idr) == ("Sarung Lama", 300000)
    assert media_files(app) == []


def test_phone_photos_up_to_20_mb_are_taken_and_stored_downsized(app):
    """Photos straight from a phone camera (12 and 48 megapixels, 6 and 19.6 MB): accepted through
    the form, stored at 960 and 360 pixels, and the whole request took little memory (the old
    code refused them above 5 MB with a 413 page, and took 113 MB for a 4.4 MB 12 MP photo)."""
    village = make_certified_village()
    member = member_client(app, village)
    photos = [(phone_photo(4000, 3000), "IMG_20261130_081512.jpg"),
              (phone_photo(8000, 6000, quality=87), "IMG_20261130_081533.jpg")]
    assert 19 * MB < len(photos[1][0]) <= 20 * MB
    # One save takes three photos of the largest size with the rest of the form.
    assert app.config["MAX_CONTENT_LENGTH"] >= 3 * 20 * MB + MB
    response, peak = peak_memory(lambda: post_new(member, photos=photos))
    assert response.status_code == 303, text(response)[:2000]
    product = only_product(village)
    keys = db.session.scalars(select(ProductPhoto.key).where(ProductPhoto.product_id == product.id)
                              .order_by(ProductPhoto.position)).all()
    root = Path(app.config["MEDIA_ROOT"])
    for key in keys:
        assert Image.open(root / f"{key}-l.jpg").size == (960, 720)
        assert Image.open(root / f"{key}-s.jpg").size == (360, 270)
    # Only the downsized JPEGs are kept, a few hundred KB at most, nothing of the 19.6 MB file.
    assert len(media_files(app)) == 4
    assert max((root / name).stat().st_size for name in media_files(app)) < 600 * 1024
    assert peak < 64 * MB, f"{peak / MB:.0f} MB"


def test_photos_are_turned_upright_and_lose_their_metadata(app):
    village = make_certified_village()
    member = member_client(app, village)
    sideways = phone_photo(1600, 1200, orientation=6)  # held upright: the camera says "turn right"
    assert b"SecretPhoneMaker" in sideways
    assert post_new(member, photos=[(sideways, "tegak.jpg")]).status_code == 303
    key = db.session.scalars(select(ProductPhoto.key)).one()
    for size, expected in (("l", (720, 960)), ("s", (270, 360))):
        path = Path(app.config["MEDIA_ROOT"]) / f"{key}-{size}.jpg"
        with Image.open(path) as stored:
            assert stored.size == expected and dict(stored.getexif()) == {}
        assert b"SecretPhoneMaker" not in path.read_bytes()


def test_more_than_a_save_can_take_comes_back_to_the_same_form(app, monkeypatch):
    """Beyond ``MAX_CONTENT_LENGTH`` Flask reads nothing (413): the same form comes back, as its
    GET shows it, with the message at the photo field in the member's language; nothing is saved.
    (The limit is lowered here so that the test sends 2 MB, not 64.)"""
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", MB)
    village = make_certified_village()
    member = member_client(app, village)
    too_much = b"\xff\xd8\xff\xe0" + bytes(2 * MB)
    response = post_new(member, photos=[(too_much, "semua.jpg")])
    assert response.status_code == 413
    page = text(response)
    assert "<h1>Add a product</h1>" in page and 'enctype="multipart/form-data"' in page
    assert field_errors(page, "photos") == [
        "Nothing was saved: the photos you chose add up to more than 1 MB, more than one save can take. Fill in "
        "the form again and choose fewer photos at a time (each may be up to 20 MB); you can add more photos "
        "after saving."]
    assert field_errors(page, "name") == [] and field_errors(page, "price_idr") == []
    assert 'href="#photos"' in page  # the error summary at the top leads to it
    assert "Too large to send" not in page
    assert db.session.scalar(select(func.count()).select_from(Product)) == 0 and media_files(app) == []

    product = make_product(village, "tenun", name="Sarung Ikat Sikka")
    page = member.get(f"/portal/produk/{product.id}/ubah").get_data(as_text=True)
    response = member.post(f"/portal/produk/{product.id}/ubah", content_type="multipart/form-data",
                           data={**edit_fields(page, name="Sarung Baru"), "photos": [(io.BytesIO(too_much), "x.jpg")]})
    assert response.status_code == 413
    page = text(response)
    assert shown_value(page, "name") == "Sarung Ikat Sikka"  # the saved product; the change was never read
    assert len(field_errors(page, "photos")) == 1
    assert fresh(product.id).name == "Sarung Ikat Sikka"

    # A form that sends no files keeps the general page (here: signing in).
    response = member.post("/masuk", data={"email": "a@example.org", "password": "x" * MB})
    assert response.status_code == 413 and "<h1>Too large to send</h1>" in text(response)


def test_photos_chosen_on_a_form_shown_again_are_checked_and_asked_for_again(app):
    """A browser never fills in a file field: when the price is wrong the photos are not silently
    lost; a bad one is said at once, good ones are asked for again."""
    village = make_certified_village()
    member = member_client(app, village)
    response = post_new(member, photos=[(image_bytes(), "a.jpg"), (image_bytes(), "b.jpg")], price_idr="-5")
    assert response.status_code == 422
    assert field_errors(text(response), "photos") == [
        "The 2 photos you chose were not saved with the rest: choose them again."]
    response = post_new(member, photos=[(b"not a photo", "c.jpg")], price_idr="-5")
    [error] = field_errors(text(response), "photos")
    assert error.startswith("c.jpg: Only JPEG, PNG or WebP photos")
    assert db.session.scalar(select(func.count()).select_from(Product)) == 0 and media_files(app) == []


# --- what a village types -------------------------------------------------------------------------


@pytest.mark.parametrize("field, typed, message", [
    ("name", "  ", "Enter the product's name."),
    ("category", "", "Choose a category."),
    ("category", "999999", "Choose a category."),
    ("sku", "kopi enak!", "The SKU may hold only letters, digits and hyphens"),
])
def test_bad_input_is_refused_with_a_message_and_nothing_saved(app, field, typed, message):
    """Numbers: tests/test_product_form_input.py."""
    village = make_certified_village()
    response = post_new(member_client(app, village), **{field: typed})
    assert response.status_code == 422
    assert message in text(response)
    assert db.session.scalar(select(func.count()).select_from(Product)) == 0


def test_bad_input_on_the_edit_form_keeps_the_product(app):
    village = make_certified_village()
    product = make_product(village, "tenun", name="Sarung", price_idr=300000, stock=4)
    member = member_client(app, village)
    response = post_edit(member, product.id, name="Sarung Baru", price_idr="murah", stock="-3")
    assert response.status_code == 422
    page = text(response)
    assert field_errors(page, "price_idr") == ["Enter the price in rupiah, e.g. 85000, 85.000, Rp 85.000 or 85rb."]
    assert field_errors(page, "stock") == ["The stock cannot be negative; 0 means sold out."]
    after = fresh(product.id)
    assert (after.name, after.price_idr, after.stock) == ("Sarung", 300000, 4)


def test_the_sku_is_typed_or_made_unique_and_then_kept(app):
    village = make_certified_village(slug="ratogesa-golewa")
    make_product(village, "kopi", sku="RAT-KOPI-001")
    member = member_client(app, village)
    assert post_new(member, name="Kopi Kedua").status_code == 303
    made = db.session.scalars(select(Product).where(Product.name == "Kopi Kedua")).one()
    assert made.sku == "RAT-KOPI-002"

    response = post_new(member, name="Kopi Ketiga", sku="rat-kopi-001")
    assert response.status_code == 422
    assert "The SKU RAT-KOPI-001 is already used by another product" in text(response)
    assert post_new(member, name="Kopi Ketiga", sku=" rat kopi_special ").status_code == 303
    typed = db.session.scalars(select(Product).where(Product.name == "Kopi Ketiga")).one()
    assert typed.sku == "RAT-KOPI-SPECIAL"

    # An SKU sent with the edit form is ignored: feeds and orders key on it.
    assert post_edit(member, typed.id, sku="LAIN-001", name="Kopi Ketiga Baru").status_code == 303
    assert (fresh(typed.id).sku, fresh(typed.id).name) == ("RAT-KOPI-SPECIAL", "Kopi Ketiga Baru")


def test_slugs_come_from_the_name_stay_unique_and_survive_a_rename(app):
    village = make_certified_village()
    member = member_client(app, village)
    for _ in range(3):
        assert post_new(member, name="Gula Lontar Rote").status_code == 303
    slugs = db.session.scalars(select(Product.slug).order_by(Product.id)).all()
    assert slugs == ["gula-lontar-rote", "gula-lontar-rote-2", "gula-lontar-rote-3"]
    first = db.session.scalars(select(Product).where(Product.slug == "gula-lontar-rote")).one()
    assert post_edit(member, first.id, name="Gula Semut Lontar Rote").status_code == 303
    assert fresh(first.id).slug == "gula-lontar-rote"


def test_a_food_product_cannot_slip_into_a_non_food_category(app):
    village = make_certified_village()
    product = make_product(village, "kopi")
    member = member_client(app, village)
    response = post_edit(member, product.id, category=str(category("kerajinan").id))
    assert response.status_code == 422 and "cannot be moved to a non-food category" in text(response)
    assert fresh(product.id).category_id == category("kopi").id
    # The other way round is fine: the rule then asks for food papers.
    craft = make_product(village, "kerajinan")
    assert post_edit(member, craft.id, category=str(category("camilan").id)).status_code == 303
    assert fresh(craft.id).category_id == category("kerajinan").id  # until the office approves
    office_approves(app, craft)
    assert fresh(craft.id).category_id == category("camilan").id


def test_non_halal_only_applies_to_food(app):
    village = make_certified_village()
    member = member_client(app, village)
    assert post_new(member, name="Kain Tenun", category=str(category("tenun").id), non_halal="y").status_code == 303
    assert only_product(village).non_halal is False


def test_editing_never_links_papers(app):
    village = make_certified_village()
    covered = make_sellable_food(village)
    bare = make_product(village, "kopi")
    links = db.session.execute(select(certificate_products)).all()
    member = member_client(app, village)
    assert post_edit(member, bare.id, certificates=[str(c) for c, _ in links],
                     products=[str(covered.id)], name="Kopi Baru").status_code == 303
    assert db.session.execute(select(certificate_products)).all() == links


# --- stock and orders meeting ---------------------------------------------------------------------


def test_a_sale_while_editing_is_never_overwritten(app):
    village = make_certified_village()
    product = make_product(village, "tenun", stock=10, price_idr=100000)
    member = member_client(app, village)
    page = member.get(f"/portal/produk/{product.id}/ubah").get_data(as_text=True)
    # Two pieces sell while the form is open.
    db.session.execute(update(Product).where(Product.id == product.id).values(stock=8))
    db.session.commit()

    # Stock left as shown, price changed: the price is saved and the sale stays counted.
    response = member.post(f"/portal/produk/{product.id}/ubah", content_type="multipart/form-data",
                           data=edit_fields(page, price_idr="120000"))
    assert response.status_code == 303
    assert (fresh(product.id).stock, fresh(product.id).price_idr) == (8, 120000)

    # A new count typed over a stale form is refused, with both numbers.
    response = member.post(f"/portal/produk/{product.id}/ubah", content_type="multipart/form-data",
                           data=edit_fields(page, stock="15", name="Berubah"))
    assert response.status_code == 422
    assert "The stock changed from 10 to 8" in text(response)
    assert (fresh(product.id).stock, fresh(product.id).name) != (15, "Berubah")
    assert fresh(product.id).stock == 8
    # The page now carries the current stock: saving again applies the count.
    again = member.post(f"/portal/produk/{product.id}/ubah", content_type="multipart/form-data",
                        data=edit_fields(text(response), stock="15"))
    assert again.status_code == 303 and fresh(product.id).stock == 15


# --- the list page --------------------------------------------------------------------------------


def test_the_product_list_takes_a_fixed_number_of_queries(app, count_queries):
    village = make_certified_village()
    member = member_client(app, village)

    def fill(n):
        for i in range(n):
            product = make_sellable_food(village) if i % 2 else make_product(village, "kopi")
            db.session.add(ProductPhoto(product_id=product.id, position=0, key=f"foto-{product.id}-aaaa"))
            make_certificate(village, "halal", [product], status="pending")
        db.session.commit()

    fill(2)
    with count_queries() as small:
        assert member.get("/portal/produk").status_code == 200
    fill(10)
    with count_queries() as large:
        page = member.get("/portal/produk")
    assert page.status_code == 200
    assert large.count == small.count <= 8, (small.count, large.count)
    assert text(page).count('href="/portal/produk/') >= 12
