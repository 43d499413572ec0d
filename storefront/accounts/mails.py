"""The account mails (sign-up confirmation, "someone tried to sign up", password reset), in
Indonesian like the shop's other mail. Each is an outbox row written in the caller's transaction
(``queue_mail``), so it leaves exactly when the change it reports is committed, and the request
never waits for an SMTP server (which would also let the answer's timing tell whether an
account exists). Links are built from ``PUBLIC_URL`` (``external_url``)."""
from ..outbox.events import queue_mail
from ..urls import external_url

SHOP = "Produk Desa NTT"


def _body(*lines):
    return "\n".join([*lines, "", "Salam,", SHOP])


def queue_sign_up_mail(outcome, *, hours, next_url=None):
    """Queue what a sign-up (``services.SignUp``) owes the address: the confirmation link for a
    new or unconfirmed account, a notice to the owner of a confirmed one, nothing for a
    suspended account. Returns the outbox event id, or None."""
    user = outcome.user
    if outcome.kind in ("new", "unconfirmed"):
        values = {"next": next_url} if next_url else {}
        link = external_url("accounts.confirm_sign_up", token=outcome.token, **values)
        # The name typed on the form is not repeated: a stranger may have typed it.
        return queue_mail("account.confirm", user.email, f"Aktifkan akun {SHOP} Anda", _body(
            "Halo,", "",
            f"Alamat e-mail ini baru saja dipakai untuk membuat akun di toko {SHOP}.",
            "Buka tautan ini untuk mengaktifkan akun dan masuk:", "", link, "",
            f"Tautan ini hanya bisa dipakai sekali dan berlaku {hours} jam. Akun belum bisa",
            "dipakai sebelum tautan ini dibuka.",
            "Jika Anda tidak mendaftar, abaikan e-mail ini: tanpa tautan ini tidak ada akun yang",
            "aktif dengan alamat Anda."))
    if outcome.kind == "exists":
        return queue_mail("account.exists", user.email, f"Percobaan mendaftar di {SHOP}", _body(
            f"Halo {user.name},", "",
            f"Seseorang (mungkin Anda sendiri) mencoba membuat akun baru di toko {SHOP} dengan",
            "alamat e-mail ini. Alamat ini sudah punya akun, jadi tidak ada akun baru yang dibuat",
            "dan akun Anda tidak berubah.", "",
            "Jika itu Anda, masuk dengan akun yang sudah ada:", external_url("accounts.sign_in"), "",
            "Lupa kata sandi? Minta tautan untuk memilih kata sandi baru:",
            external_url("accounts.forgot_password"), "",
            "Jika bukan Anda, abaikan e-mail ini."))
    return None


def queue_reset_mail(user, token, *, minutes):
    """Queue the password-reset link for ``user``; returns the outbox event id."""
    link = external_url("accounts.reset_password", token=token)
    # An unconfirmed account's name was typed by whoever signed up, perhaps a stranger.
    greeting = f"Halo {user.name}," if user.is_confirmed else "Halo,"
    return queue_mail("account.password_reset", user.email, f"Atur ulang kata sandi {SHOP}", _body(
        greeting, "",
        "Kami menerima permintaan untuk mengatur ulang kata sandi akun Anda di toko",
        f"{SHOP}. Buka tautan ini untuk memilih kata sandi baru:", "", link, "",
        f"Tautan ini hanya bisa dipakai sekali dan berlaku {minutes} menit.",
        "Jika Anda tidak meminta ini, abaikan e-mail ini; kata sandi Anda tidak berubah."))
