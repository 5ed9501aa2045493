"""Static vocabularies of the simulated commerce company: markets, names, catalog words, devices."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Market:
    """A user market: locale, country, UTC offsets (minutes), name pool and phone template."""

    locale: str
    country: str
    offsets: tuple[int, ...]
    weight: float
    names: str
    phone: str  # '#' is replaced by a random digit


MARKETS = (
    Market("en-US", "US", (-300, -360, -420, -480), 0.18, "en", "+1 2## 555-01##"),
    Market("en-GB", "GB", (0,), 0.14, "en", "+44 7700 900###"),
    Market("de-DE", "DE", (60,), 0.16, "de", "+49 15## #######"),
    Market("fr-FR", "FR", (60,), 0.10, "fr", "+33 6 ## ## ## ##"),
    Market("es-ES", "ES", (60,), 0.08, "es", "+34 6## ### ###"),
    Market("it-IT", "IT", (60,), 0.07, "it", "+39 3## ### ####"),
    Market("nl-NL", "NL", (60,), 0.06, "nl", "+31 6 ########"),
    Market("pt-PT", "PT", (0,), 0.04, "pt", "+351 9## ### ###"),
    Market("pt-BR", "BR", (-180,), 0.06, "pt", "+55 11 9####-####"),
    Market("fi-FI", "FI", (120,), 0.03, "fi", "+358 40 ### ####"),
    Market("en-IN", "IN", (330,), 0.05, "in", "+91 9#### #####"),
    Market("en-IE", "IE", (0,), 0.03, "en", "+353 85 ### ####"),
)

FIRST_NAMES = {
    "en": "James Olivia Liam Emma Noah Ava Oliver Sophia Harry Amelia Jack Isla George Mia "
    "Ethan Grace Lucas Chloe Henry Ruby",
    "de": "Lukas Anna Leon Mia Finn Hannah Paul Emilia Jonas Lena Felix Marie Maximilian Sophie "
    "Jürgen Jana",
    "fr": "Léa Hugo Chloé Louis Manon Gabriel Camille Jules Inès Arthur Zoé Théo",
    "es": "Lucía Hugo Martina Mateo Sofía Pablo Valeria Daniel Alejandro Carmen Javier Elena",
    "it": "Giulia Leonardo Sofia Francesco Aurora Alessandro Chiara Lorenzo Matteo Giorgia",
    "nl": "Daan Emma Sem Julia Lucas Mila Levi Tess Finn Sara Bram Noor",
    "pt": "Ana João Maria Pedro Beatriz Tiago Inês Rafael Mariana Lucas Gabriel Larissa",
    "fi": "Aino Eino Helmi Väinö Sofia Elias Olivia Leo Ella Onni",
    "in": "Aarav Ananya Vihaan Diya Arjun Saanvi Rohan Isha Kabir Priya",
}
LAST_NAMES = {
    "en": "Smith Johnson Brown Taylor Wilson Davies Evans Thomas Roberts Walker Wright Hughes "
    "Green Lewis Clarke Hall O'Brien Murphy",
    "de": "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch Richter",
    "fr": "Martin Bernard Dubois Thomas Robert Richard Petit Durand Lefèvre Moreau Laurent",
    "es": "García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Muñoz",
    "it": "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco",
    "nl": "de_Jong Jansen de_Vries van_den_Berg Bakker Visser Smit Meijer Mulder Bos",
    "pt": "Silva Santos Ferreira Pereira Oliveira Costa Rodrigues Martins Sousa Almeida",
    "fi": "Korhonen Virtanen Mäkinen Nieminen Mäkelä Hämäläinen Laine Heikkinen",
    "in": "Sharma Patel Singh Kumar Gupta Reddy Iyer Nair Das Mehta",
}
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com", "inbox.example")

APP_WEIGHTS = (0.5, 0.3, 0.2)
USER_AGENTS = {
    "web": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Safari/605.1.15",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Mobile Safari/537.36",
    ),
    "ios": (
        "ShopApp/5.12.0 (iPhone15,2; iOS 17.4.1; Scale/3.00)",
        "ShopApp/5.11.2 (iPhone13,1; iOS 16.7.5; Scale/3.00)",
        "ShopApp/5.12.0 (iPad13,4; iPadOS 17.4; Scale/2.00)",
    ),
    "android": (
        "ShopApp/5.12.0 (Linux; Android 14; Pixel 8 Build/AP1A.240305.019)",
        "ShopApp/5.12.0 (Linux; Android 13; SM-S911B)",
        "ShopApp/5.10.3 (Linux; Android 12; Redmi Note 11)",
    ),
}
IP_FIRST_OCTETS = (24, 31, 37, 46, 62, 73, 77, 78, 81, 84, 86, 89, 92, 98, 109, 151, 176, 185, 212)

CATEGORIES = {  # category: (median price, nouns)
    "electronics": (
        60.0,
        "Headphones|Earbuds|Speaker|Smartwatch|Charger|Power Bank|Keyboard|"
        "Mouse|Monitor|Webcam|USB-C Hub|E-Reader",
    ),
    "home_kitchen": (
        35.0,
        "Coffee Grinder|Chef Knife|Frying Pan|Blender|Kettle|Cutting Board|"
        "Storage Jar|Table Lamp|Throw Pillow|Bath Towel",
    ),
    "fashion": (
        40.0,
        "T-Shirt|Hoodie|Jeans|Sneakers|Rain Jacket|Scarf|Backpack|Sunglasses|Wool Socks|Belt",
    ),
    "beauty": (20.0, "Face Cream|Shampoo|Lip Balm|Perfume|Sunscreen|Hair Dryer|Nail Polish|Serum"),
    "sports": (
        45.0,
        "Yoga Mat|Running Shoes|Water Bottle|Dumbbell Set|Bike Light|Tennis Racket|"
        "Fitness Tracker|Jump Rope",
    ),
    "books": (15.0, "Cookbook|Novel|Travel Guide|Notebook|Comic|Biography|Puzzle Book|Atlas"),
    "toys": (
        25.0,
        "Building Blocks|Jigsaw Puzzle|Plush Bear|Board Game|RC Car|Doll House|Kite|Science Kit",
    ),
    "grocery": (
        8.0,
        "Olive Oil|Coffee Beans|Green Tea|Dark Chocolate|Pasta|Honey|Granola|Hot Sauce",
    ),
}
BRANDS = ("Nordvik", "Aurora", "Kestrel", "Lumo", "Verde", "Atlas", "Brio", "Solace", "Zenith")
ADJECTIVES = (
    "Classic",
    "Compact",
    "Premium",
    "Eco",
    "Smart",
    "Ultra",
    "Vintage",
    "Essential",
    "Deluxe",
    "Lightweight",
    "Organic",
    "Pro",
    "Urban",
    "Everyday",
)
CURRENCIES = ("EUR", "GBP", "USD")
CURRENCY_WEIGHTS = (0.8, 0.1, 0.1)

PAGES = (
    "/",
    "/deals",
    "/new",
    "/account",
    "/help",
    "/cart",
    "/wishlist",
    "/blog/spring-trends",
    *(f"/category/{c}" for c in CATEGORIES),
)
PRODUCT_LISTS = ("search", "category", "recommendations", "home", "deals")
LOGIN_METHODS = ("password", "google", "apple")
SIGNUP_METHODS = ("email", "google", "apple")
EXPERIMENTS = ("exp_checkout_v2_a", "exp_checkout_v2_b")
COUPONS = ("SPRING10", "WELCOME5", "FREESHIP", "VIP20")

# Share of sessions starting in each local hour: quiet nights, lunch bump, evening peak.
HOUR_CURVE = np.array(
    [
        0.25,
        0.15,
        0.10,
        0.08,
        0.08,
        0.12,
        0.30,
        0.55,
        0.75,
        0.85,
        0.90,
        0.95,
        1.00,
        0.95,
        0.90,
        0.90,
        0.95,
        1.05,
        1.20,
        1.35,
        1.40,
        1.25,
        0.90,
        0.50,
    ]
)
WEEKEND_FACTOR = 1.04  # weekends are busier, kept within the +-5% volume contract
WEEKDAY_FACTOR = (7 - 2 * WEEKEND_FACTOR) / 5


def ascii_slug(text: str) -> str:
    """Lower-case ASCII form of a name for e-mail addresses ('Müller' -> 'muller')."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def display_name(token: str) -> str:
    """A name token as displayed ('van_den_Berg' -> 'van den Berg')."""
    return token.replace("_", " ")


def search_queries() -> tuple[str, ...]:
    """Search phrases users type: product nouns, sometimes with an adjective."""
    nouns = [n.lower() for _, words in CATEGORIES.values() for n in words.split("|")]
    adjectives = [a.lower() for a in ADJECTIVES[:6]]
    return tuple(nouns + [f"{a} {n}" for a in adjectives for n in nouns[::3]])
