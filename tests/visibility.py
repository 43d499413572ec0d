"""Where a buyer or partner can see a product: every public surface, checked over HTTP."""


def where_visible(client, product_slug, sku, village_slug, name):
    """Map surface -> whether the product shows there."""
    link = f'href="/produk/{product_slug}"'
    api = client.get("/api/v1/products?per_page=100")
    assert api.status_code == 200
    csv_text = client.get("/api/v1/products.csv").get_data(as_text=True)
    village_page = client.get(f"/desa/{village_slug}")
    return {
        "catalogue": link in client.get("/produk").get_data(as_text=True),
        "product page": client.get(f"/produk/{product_slug}").status_code == 200,
        "village page": village_page.status_code == 200 and link in village_page.get_data(as_text=True),
        "search": link in client.get("/cari", query_string={"q": name}).get_data(as_text=True),
        "home": link in client.get("/").get_data(as_text=True),
        "api": any(item["sku"] == sku for item in api.json["items"]),
        "csv": any(line.startswith(f"{sku},") for line in csv_text.splitlines()),
    }


def assert_visible(client, product, village_slug):
    seen = where_visible(client, product.slug, product.sku, village_slug, product.name)
    assert all(seen.values()), f"expected visible everywhere, hidden on: {[k for k, v in seen.items() if not v]}"


def assert_hidden(client, product, village_slug):
    seen = where_visible(client, product.slug, product.sku, village_slug, product.name)
    assert not any(seen.values()), f"expected hidden everywhere, shown on: {[k for k, v in seen.items() if v]}"
    assert client.get(f"/produk/{product.slug}").status_code == 404
