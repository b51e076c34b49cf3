"""The synthetic shop's fixed vocabulary: its categories, their words and prices, brand syllables.

Categories come in families: a *main* product (a phone, a coffee machine) and exactly three
*accessory* categories bought after it (a case, a charger, a screen protector), followed by
standalone categories. Some categories are *consumables*, bought again at a regular interval.
The order of :data:`CATEGORIES` matters: ``n_categories`` takes a prefix of it, so families
come first and stay whole for ``n_categories`` that are multiples of four up to 24.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["main", "accessory", "standalone"]

# Generic words per department, so titles read like the department they belong to.
_ADJECTIVES = {
    "Electronics": ("Slim", "Smart", "Pro", "Ultra", "Premium", "Essential", "Advanced", "Max"),
    "Home & Kitchen": ("Classic", "Stainless", "Compact", "Deluxe", "Modern", "Barista", "Eco"),
    "Personal Care": ("Gentle", "Natural", "Fresh", "Organic", "Sensitive", "Daily", "Pure"),
    "Office": ("Everyday", "Professional", "Compact", "Eco", "Premium", "Home Office"),
    "Sports & Outdoors": ("Lightweight", "Breathable", "Performance", "Durable", "All-Weather"),
    "Pets": ("Natural", "Premium", "Healthy", "Everyday", "Veterinary", "Wholesome"),
    "Toys & Games": ("Classic", "Family", "Deluxe", "Travel", "Collector's", "Party"),
}

#: Model-line words for main products ("Velora Aero 5 5G Smartphone 128GB").
SERIES = ("Aero", "Nova", "Pulse", "Zen", "Vista", "Core", "Edge", "Flex", "Orbit", "Prime")

#: Brand names are a prefix syllable joined to a suffix syllable (40 x 30 = 1,200 names).
BRAND_PREFIXES = (
    "Nord", "Vel", "Kap", "Lum", "Aur", "Bri", "Cor", "Dal", "Elm", "Fen",
    "Gal", "Hal", "Ist", "Jun", "Kel", "Lin", "Mar", "Nov", "Ost", "Pax",
    "Quin", "Ros", "Sol", "Tor", "Ulm", "Var", "Wes", "Xan", "Yor", "Zel",
    "Ark", "Bel", "Cam", "Dor", "Eve", "Fal", "Gro", "Hel", "Iro", "Jar",
)  # fmt: skip
BRAND_SUFFIXES = (
    "haus", "ora", "tek", "ix", "wave", "line", "mark", "ford", "ly", "ova",
    "ridge", "gen", "ia", "io", "um", "ex", "ar", "en", "ell", "berg",
    "ton", "vik", "dal", "stone", "field", "craft", "works", "labs", "co", "ant",
)  # fmt: skip


@dataclass(frozen=True)
class CategorySpec:
    """One category of the synthetic catalogue and the words its titles are made of.

    Attributes:
        name: Category name as it appears in the catalogue ("Phone Cases").
        noun: Head noun every title of the category contains ("Phone Case").
        family: The family (main category name) or, for a standalone category, its own name.
        department: Top-level department; picks the adjectives.
        role: ``main``, ``accessory`` (bought after its family's main) or ``standalone``.
        weight: Relative share of the catalogue and of browsing sessions.
        price: Median price; prices are log-normal around it.
        price_sigma: Log-normal sigma of prices.
        kinds: Words that say which kind of ``noun`` it is ("Espresso", "Drip").
        variants: Sizes or capacities ("1.5L", "128GB").
        features: Phrases for the description.
        interval_factor: For consumables, the repeat interval in units of the configured base
            interval; ``None`` for durable goods.
    """

    name: str
    noun: str
    family: str
    department: str
    role: Role
    weight: float
    price: float
    price_sigma: float
    kinds: tuple[str, ...]
    variants: tuple[str, ...]
    features: tuple[str, ...]
    interval_factor: float | None = None

    @property
    def adjectives(self) -> tuple[str, ...]:
        """Adjectives of the category's department."""
        return _ADJECTIVES[self.department]

    @property
    def consumable(self) -> bool:
        """Whether shoppers buy it again at a regular interval."""
        return self.interval_factor is not None


def _family(
    department: str, main: CategorySpec, *accessories: CategorySpec
) -> tuple[CategorySpec, ...]:
    """A main category and its three accessory categories, stamped with the family name."""
    assert len(accessories) == 3, main.name
    stamp = {"family": main.name, "department": department}
    return (
        CategorySpec(**{**main.__dict__, **stamp, "role": "main"}),
        *(CategorySpec(**{**a.__dict__, **stamp, "role": "accessory"}) for a in accessories),
    )


def _spec(
    name: str,
    noun: str,
    weight: float,
    price: float,
    kinds: tuple[str, ...],
    variants: tuple[str, ...],
    features: tuple[str, ...],
    *,
    sigma: float = 0.4,
    interval: float | None = None,
    department: str = "",
) -> CategorySpec:
    """A category; family, department and role are filled in by :func:`_family` or here."""
    return CategorySpec(
        name=name,
        noun=noun,
        family=name,
        department=department,
        role="standalone",
        weight=weight,
        price=price,
        price_sigma=sigma,
        kinds=kinds,
        variants=variants,
        features=features,
        interval_factor=interval,
    )


_PHONES = _family(
    "Electronics",
    _spec(
        "Phones", "Smartphone", 1.0, 450.0,
        ("5G", "Compact", "Foldable", "Rugged", "Camera", "Dual-SIM"),
        ("64GB", "128GB", "256GB", "512GB"),
        ("6.1-inch OLED display", "all-day battery", "triple camera", "fast charging",
         "water resistant"),
        sigma=0.5,
    ),
    _spec(
        "Phone Cases", "Phone Case", 1.4, 18.0,
        ("Silicone", "Leather", "Clear", "Shockproof", "Wallet", "Magnetic"),
        ("6.1in", "6.7in", "5.8in"),
        ("raised edges protect the screen", "slim fit", "wireless charging compatible",
         "drop tested"),
    ),
    _spec(
        "Chargers", "Charger", 1.2, 25.0,
        ("USB-C Fast", "Wireless", "Dual-Port", "Car", "GaN"),
        ("20W", "30W", "65W", "15W"),
        ("charges to 50% in 30 minutes", "overheat protection", "foldable plug",
         "universal compatibility"),
    ),
    _spec(
        "Screen Protectors", "Screen Protector", 1.0, 12.0,
        ("Tempered Glass", "Privacy", "Matte", "Anti-Glare"),
        ("1-Pack", "2-Pack", "3-Pack"),
        ("bubble-free install", "9H hardness", "case friendly", "keeps touch sensitivity"),
    ),
)  # fmt: skip

_COFFEE = _family(
    "Home & Kitchen",
    _spec(
        "Coffee Machines", "Coffee Machine", 0.9, 220.0,
        ("Espresso", "Bean-to-Cup", "Drip", "Capsule", "Pour-Over"),
        ("1.2L", "1.5L", "1.8L", "2L"),
        ("15-bar pump", "built-in grinder", "programmable timer", "steam wand",
         "removable water tank"),
        sigma=0.6,
    ),
    _spec(
        "Coffee Beans", "Coffee Beans", 1.4, 12.0,
        ("Dark Roast", "Medium Roast", "Espresso Blend", "Single Origin", "Decaf"),
        ("250g", "500g", "1kg"),
        ("notes of chocolate and caramel", "freshly roasted", "fair trade", "whole bean"),
        interval=1.0,
    ),
    _spec(
        "Descalers", "Descaler", 0.8, 9.0,
        ("Citric", "Eco", "Liquid", "Tablet"),
        ("250ml", "500ml", "6 Tablets"),
        ("removes limescale", "safe for all machines", "biodegradable formula"),
        interval=2.0,
    ),
    _spec(
        "Milk Frothers", "Milk Frother", 0.7, 35.0,
        ("Handheld", "Electric", "Induction", "Cordless"),
        ("250ml", "300ml", "500ml"),
        ("hot and cold foam", "non-stick interior", "one-touch operation"),
    ),
)  # fmt: skip

_LAPTOPS = _family(
    "Electronics",
    _spec(
        "Laptops", "Laptop", 0.9, 900.0,
        ("Ultrabook", "Gaming", "2-in-1", "Business", "Student"),
        ("13in", "14in", "15.6in", "16in"),
        ("16GB RAM", "1TB SSD", "backlit keyboard", "12-hour battery", "aluminium chassis"),
        sigma=0.45,
    ),
    _spec(
        "Laptop Bags", "Laptop Bag", 1.0, 40.0,
        ("Backpack", "Messenger", "Rolling", "Water-Resistant"),
        ("13in", "15in", "17in"),
        ("padded laptop compartment", "luggage strap", "hidden pocket"),
    ),
    _spec(
        "Computer Mice", "Mouse", 1.1, 25.0,
        ("Wireless", "Ergonomic", "Gaming", "Bluetooth", "Silent"),
        ("Black", "White", "Graphite"),
        ("adjustable DPI", "long battery life", "quiet clicks", "multi-device pairing"),
    ),
    _spec(
        "USB Hubs", "USB-C Hub", 0.9, 30.0,
        ("7-in-1", "4-Port", "HDMI", "Aluminium"),
        ("Grey", "Silver", "Space Grey"),
        ("4K HDMI output", "100W pass-through charging", "SD card reader"),
    ),
)  # fmt: skip

_PRINTERS = _family(
    "Office",
    _spec(
        "Printers", "Printer", 0.7, 160.0,
        ("Inkjet", "Laser", "All-in-One", "Photo"),
        ("Colour", "Mono", "Duplex"),
        ("wireless printing", "automatic duplex", "mobile app", "20 pages per minute"),
        sigma=0.5,
    ),
    _spec(
        "Ink Cartridges", "Ink Cartridge", 1.2, 25.0,
        ("Black", "Tri-Colour", "XL Black", "Multipack"),
        ("Standard", "XL", "XXL"),
        ("sharp text", "fade-resistant", "high page yield"),
        interval=2.0,
    ),
    _spec(
        "Printer Paper", "Printer Paper", 0.9, 8.0,
        ("A4", "Photo", "Recycled", "Premium"),
        ("100 Sheets", "250 Sheets", "500 Sheets"),
        ("80gsm", "bright white", "jam-free"),
        interval=2.0,
    ),
    _spec(
        "Printer Cables", "Printer Cable", 0.6, 7.0,
        ("USB-A to USB-B", "Braided", "Shielded"),
        ("1m", "2m", "3m"),
        ("gold-plated connectors", "tangle-free", "high-speed transfer"),
    ),
)  # fmt: skip

_CAMERAS = _family(
    "Electronics",
    _spec(
        "Cameras", "Camera", 0.6, 650.0,
        ("Mirrorless", "Compact", "Action", "Instant", "DSLR"),
        ("20MP", "24MP", "45MP", "4K"),
        ("image stabilisation", "fast autofocus", "weather sealed", "flip screen"),
        sigma=0.55,
    ),
    _spec(
        "Memory Cards", "Memory Card", 1.0, 20.0,
        ("SDXC", "microSD", "UHS-II", "CFexpress"),
        ("64GB", "128GB", "256GB"),
        ("V30 video speed", "shockproof", "lifetime warranty"),
    ),
    _spec(
        "Tripods", "Tripod", 0.7, 45.0,
        ("Travel", "Carbon", "Aluminium", "Mini"),
        ("120cm", "150cm", "170cm"),
        ("ball head", "quick-release plate", "folds to 40cm"),
    ),
    _spec(
        "Camera Bags", "Camera Bag", 0.7, 50.0,
        ("Sling", "Backpack", "Shoulder", "Hard-Shell"),
        ("Small", "Medium", "Large"),
        ("padded dividers", "rain cover", "quick side access"),
    ),
)  # fmt: skip

_SHAVING = _family(
    "Personal Care",
    _spec(
        "Razors", "Razor", 0.8, 45.0,
        ("Safety", "Electric", "Cartridge", "Rotary"),
        ("Black", "Chrome", "Blue"),
        ("flexible head", "close shave", "wet and dry use", "60-minute battery"),
        sigma=0.6,
    ),
    _spec(
        "Razor Blades", "Razor Blades", 1.1, 11.0,
        ("Stainless", "Platinum", "Sensitive", "5-Blade"),
        ("4-Pack", "8-Pack", "12-Pack"),
        ("lubricating strip", "stays sharp longer", "fits all handles of the range"),
        interval=1.5,
    ),
    _spec(
        "Shaving Gel", "Shaving Gel", 0.9, 5.0,
        ("Sensitive", "Cooling", "Aloe", "Foaming"),
        ("75ml", "200ml", "300ml"),
        ("reduces irritation", "clear formula", "dermatologist tested"),
        interval=1.5,
    ),
    _spec(
        "Aftershave Balm", "Aftershave Balm", 0.6, 12.0,
        ("Soothing", "Alcohol-Free", "Cedarwood", "Citrus"),
        ("50ml", "100ml"),
        ("calms the skin", "light fragrance", "non-greasy"),
    ),
)  # fmt: skip

_STANDALONE = (
    _spec(
        "Headphones", "Headphones", 1.1, 90.0,
        ("Noise-Cancelling", "Over-Ear", "True Wireless", "Sport"),
        ("Black", "White", "Navy"),
        ("30-hour battery", "active noise cancelling", "clear calls"),
        sigma=0.6, department="Electronics",
    ),
    _spec(
        "Running Shoes", "Running Shoes", 1.2, 95.0,
        ("Trail", "Road", "Cushioned", "Racing"),
        ("EU 38", "EU 40", "EU 42", "EU 44", "EU 46"),
        ("responsive foam", "breathable mesh upper", "grippy outsole"),
        department="Sports & Outdoors",
    ),
    _spec(
        "Shampoo", "Shampoo", 1.2, 8.0,
        ("Anti-Dandruff", "Volumising", "Repair", "Herbal", "Kids"),
        ("250ml", "400ml", "1L"),
        ("sulphate-free", "for daily use", "salon-quality shine"),
        interval=2.0, department="Personal Care",
    ),
    _spec(
        "Dog Food", "Dog Food", 1.0, 35.0,
        ("Grain-Free", "Puppy", "Senior", "Salmon", "Chicken"),
        ("2kg", "6kg", "12kg"),
        ("high in protein", "no artificial colours", "supports healthy digestion"),
        interval=2.0, department="Pets",
    ),
    _spec(
        "Yoga Mats", "Yoga Mat", 0.8, 30.0,
        ("Non-Slip", "Travel", "Extra-Thick", "Cork"),
        ("4mm", "6mm", "8mm"),
        ("carrying strap", "easy to clean", "alignment lines"),
        department="Sports & Outdoors",
    ),
    _spec(
        "Supplements", "Supplement", 0.9, 15.0,
        ("Vitamin D3", "Multivitamin", "Omega-3", "Magnesium"),
        ("60 Capsules", "90 Capsules", "120 Tablets"),
        ("one a day", "vegan friendly", "third-party tested"),
        interval=2.0, department="Personal Care",
    ),
    _spec(
        "Board Games", "Board Game", 0.8, 35.0,
        ("Strategy", "Cooperative", "Word", "Party"),
        ("2-4 Players", "2-6 Players", "3-8 Players"),
        ("60-minute play time", "easy to learn", "ages 10 and up"),
        department="Toys & Games",
    ),
    _spec(
        "Toothpaste", "Toothpaste", 1.0, 4.0,
        ("Whitening", "Sensitive", "Herbal", "Fluoride"),
        ("75ml", "100ml", "2x75ml"),
        ("fights cavities", "fresh mint", "enamel care"),
        interval=1.5, department="Personal Care",
    ),
    _spec(
        "Desk Lamps", "Desk Lamp", 0.7, 35.0,
        ("LED", "Architect", "Clamp", "Dimmable"),
        ("Black", "White", "Brass"),
        ("adjustable arm", "eye-care light", "USB charging port"),
        department="Office",
    ),
    _spec(
        "Frying Pans", "Frying Pan", 0.8, 40.0,
        ("Non-Stick", "Cast Iron", "Stainless", "Ceramic"),
        ("20cm", "24cm", "28cm"),
        ("induction ready", "oven safe", "PFOA-free"),
        department="Home & Kitchen",
    ),
    _spec(
        "Water Bottles", "Water Bottle", 0.9, 20.0,
        ("Insulated", "Sports", "Glass", "Collapsible"),
        ("500ml", "750ml", "1L"),
        ("keeps drinks cold for 24 hours", "leak-proof lid", "BPA-free"),
        department="Sports & Outdoors",
    ),
)  # fmt: skip

#: Every category, families first (main then its three accessories), then standalone ones.
CATEGORIES: tuple[CategorySpec, ...] = (
    *_PHONES,
    *_COFFEE,
    *_LAPTOPS,
    *_PRINTERS,
    *_CAMERAS,
    *_SHAVING,
    *_STANDALONE,
)
