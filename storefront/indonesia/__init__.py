"""Indonesia's provinces and regencies/cities (Kemendagri codes) with their postal codes."""
