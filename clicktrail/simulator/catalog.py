"""A generated shop catalog: top categories, subcategories and products, fixed by the seed."""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

from clicktrail.simulator import difficulty
from clicktrail.simulator.randomness import derived_random, zipf_cumulative_weights

CURRENCY = "EUR"


@dataclass(frozen=True)
class SubcategorySpec:
    name: str
    base_price: int  # minor units: the median price of the subcategory
    nouns: tuple[str, ...]


@dataclass(frozen=True)
class CategorySpec:
    name: str
    code: str  # SKU prefix
    popularity: float  # how often personas pick it among their dominant categories
    subcategories: tuple[SubcategorySpec, ...]


def _sub(name: str, base_price: int, nouns: str) -> SubcategorySpec:
    return SubcategorySpec(name, base_price, tuple(nouns.split(",")))


TAXONOMY: tuple[CategorySpec, ...] = (
    CategorySpec(
        "Electronics",
        "EL",
        1.6,
        (
            _sub("Phones", 39900, "Smartphone,Phone,Flip Phone"),
            _sub("Laptops", 89900, "Laptop,Notebook,Ultrabook"),
            _sub("Audio", 7900, "Headphones,Earbuds,Speaker,Soundbar"),
            _sub("Cameras", 54900, "Camera,Action Cam,Lens"),
            _sub("Accessories", 1900, "Charger,Cable,Phone Case,Power Bank"),
        ),
    ),
    CategorySpec(
        "Home & Kitchen",
        "HK",
        1.4,
        (
            _sub("Cookware", 4900, "Frying Pan,Saucepan,Dutch Oven,Wok"),
            _sub("Furniture", 24900, "Armchair,Bookshelf,Side Table,Desk"),
            _sub("Bedding", 5900, "Duvet,Pillow,Sheet Set,Blanket"),
            _sub("Decor", 2900, "Vase,Lamp,Mirror,Wall Clock"),
            _sub("Appliances", 12900, "Blender,Kettle,Toaster,Coffee Maker"),
        ),
    ),
    CategorySpec(
        "Fashion",
        "FA",
        1.5,
        (
            _sub("Women's Clothing", 4500, "Dress,Blouse,Cardigan,Skirt"),
            _sub("Men's Clothing", 4500, "Shirt,Jacket,Chinos,Sweater"),
            _sub("Shoes", 8900, "Sneakers,Boots,Loafers,Sandals"),
            _sub("Bags", 6900, "Backpack,Tote,Crossbody Bag,Wallet"),
            _sub("Jewelry", 5900, "Necklace,Ring,Bracelet,Earrings"),
        ),
    ),
    CategorySpec(
        "Sports & Outdoors",
        "SO",
        1.0,
        (
            _sub("Fitness", 3900, "Yoga Mat,Dumbbell Set,Resistance Band,Kettlebell"),
            _sub("Cycling", 9900, "Bike Helmet,Bike Light,Saddle,Cycling Jersey"),
            _sub("Camping", 11900, "Tent,Sleeping Bag,Camping Stove,Lantern"),
            _sub("Running", 7900, "Running Shoes,Running Vest,Sports Watch"),
            _sub("Team Sports", 2900, "Football,Basketball,Shin Guards,Goalkeeper Gloves"),
        ),
    ),
    CategorySpec(
        "Beauty",
        "BE",
        1.0,
        (
            _sub("Skincare", 2400, "Moisturizer,Serum,Cleanser,Sunscreen"),
            _sub("Makeup", 1900, "Lipstick,Mascara,Foundation,Eyeshadow Palette"),
            _sub("Hair Care", 1500, "Shampoo,Conditioner,Hair Oil,Hair Dryer"),
            _sub("Fragrance", 6500, "Eau de Parfum,Eau de Toilette,Body Mist"),
        ),
    ),
    CategorySpec(
        "Books",
        "BK",
        0.9,
        (
            _sub("Fiction", 1400, "Novel,Thriller,Short Stories"),
            _sub("Non-fiction", 2200, "Biography,History Book,Essay Collection"),
            _sub("Children's Books", 1200, "Picture Book,Story Book,Activity Book"),
            _sub("Comics", 1600, "Graphic Novel,Comic Collection,Manga Volume"),
            _sub("Cookbooks", 2600, "Cookbook,Baking Book,Recipe Collection"),
        ),
    ),
    CategorySpec(
        "Toys & Games",
        "TG",
        0.8,
        (
            _sub("Board Games", 3500, "Board Game,Card Game,Party Game"),
            _sub("Building Sets", 4900, "Building Set,Construction Kit,Marble Run"),
            _sub("Dolls", 2900, "Doll,Doll House,Plush Toy"),
            _sub("Puzzles", 1900, "Jigsaw Puzzle,3D Puzzle,Puzzle Box"),
        ),
    ),
    CategorySpec(
        "Garden",
        "GA",
        0.7,
        (
            _sub("Plants", 1900, "Olive Tree,Rose Bush,Herb Set,Succulent"),
            _sub("Garden Tools", 3500, "Pruning Shears,Spade,Rake,Hedge Trimmer"),
            _sub("Watering", 2900, "Garden Hose,Watering Can,Sprinkler"),
            _sub("Grills", 29900, "Charcoal Grill,Gas Grill,Pizza Oven"),
        ),
    ),
    CategorySpec(
        "Grocery",
        "GR",
        0.8,
        (
            _sub("Coffee & Tea", 1200, "Coffee Beans,Ground Coffee,Green Tea,Herbal Tea"),
            _sub("Snacks", 400, "Chocolate Bar,Crisps,Nut Mix,Granola"),
            _sub("Pantry", 600, "Olive Oil,Pasta,Rice,Spice Set"),
            _sub("Beverages", 500, "Sparkling Water,Juice,Lemonade"),
        ),
    ),
    CategorySpec(
        "Pet Supplies",
        "PE",
        0.6,
        (
            _sub("Dog", 2900, "Dog Bed,Dog Leash,Dog Food,Chew Toy"),
            _sub("Cat", 2400, "Cat Tree,Cat Litter,Cat Food,Scratching Post"),
            _sub("Aquarium", 5900, "Aquarium,Filter,Fish Food"),
            _sub("Small Animals", 1900, "Hamster Cage,Hay Feeder,Bedding Pack"),
        ),
    ),
    CategorySpec(
        "Baby",
        "BA",
        0.5,
        (
            _sub("Strollers", 34900, "Stroller,Buggy,Travel System"),
            _sub("Nursery", 9900, "Crib,Baby Monitor,Changing Table"),
            _sub("Feeding", 1900, "Baby Bottle,High Chair,Bib Set"),
        ),
    ),
)

_ADJECTIVES = (
    "Classic",
    "Essential",
    "Premium",
    "Compact",
    "Ultra",
    "Eco",
    "Smart",
    "Pro",
    "Lite",
    "Deluxe",
    "Urban",
    "Nordic",
    "Vintage",
    "Everyday",
    "Signature",
    "Studio",
    "Travel",
    "Max",
    "Mini",
    "Soft",
    "Organic",
    "Bold",
    "Modern",
    "Heritage",
)
_SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "ra",
    "ve",
    "to",
    "su",
    "na",
    "el",
    "or",
    "an",
    "is",
    "ba",
    "de",
    "fi",
    "go",
    "ho",
    "ju",
    "ze",
    "qu",
    "ny",
    "pa",
    "ti",
    "wo",
)
BRAND_COUNT = 60


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    category: tuple[str, str]  # (top category, subcategory)
    price: int  # minor units of CURRENCY
    slug: str


@dataclass(frozen=True)
class Category:
    name: str
    slug: str
    subcategories: tuple[str, ...]
    products: tuple[Product, ...]  # most popular first
    popularity_cum_weights: tuple[float, ...]  # Zipf over ``products``


@dataclass(frozen=True)
class Catalog:
    currency: str
    categories: tuple[Category, ...]
    category_popularity: tuple[float, ...]  # parallel to ``categories``

    @property
    def products(self) -> list[Product]:
        return [product for category in self.categories for product in category.products]

    def as_json(self) -> dict[str, object]:
        return {
            "currency": self.currency,
            "categories": [
                {"name": c.name, "slug": c.slug, "subcategories": list(c.subcategories)}
                for c in self.categories
            ],
            "products": [
                {"sku": p.sku, "name": p.name, "category": list(p.category), "price": p.price}
                for p in self.products
            ],
        }


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def build_catalog(seed: int) -> Catalog:
    rng = derived_random(seed, "catalog")
    brands = _brands(rng)
    categories = tuple(_build_category(rng, spec, brands) for spec in TAXONOMY)
    return Catalog(CURRENCY, categories, tuple(spec.popularity for spec in TAXONOMY))


def _brands(rng: random.Random) -> list[str]:
    names: set[str] = set()
    while len(names) < BRAND_COUNT:
        word = "".join(rng.choices(_SYLLABLES, k=rng.randint(2, 3)))
        names.add(word.capitalize())
    return sorted(names)


def _build_category(rng: random.Random, spec: CategorySpec, brands: list[str]) -> Category:
    # A category buys from a handful of brands, as a real shop's assortment does.
    category_brands = rng.sample(brands, 8)
    low, high = difficulty.PRODUCTS_PER_SUBCATEGORY
    products: list[Product] = []
    for sub_index, sub in enumerate(spec.subcategories, start=1):
        for serial in range(1, rng.randint(low, high) + 1):
            name = (
                f"{rng.choice(category_brands)} {rng.choice(_ADJECTIVES)} {rng.choice(sub.nouns)}"
            )
            if rng.random() < 0.4:
                name += f" {rng.randint(1, 9)}{rng.choice('0SX')}"
            sku = f"{spec.code}{sub_index}-{serial:04d}"
            products.append(
                Product(
                    sku=sku,
                    name=name,
                    category=(spec.name, sub.name),
                    price=_price(rng, sub.base_price),
                    slug=f"{slugify(name)}-{sku.lower()}",
                )
            )
    rng.shuffle(products)  # popularity order, independent of the subcategory
    weights = zipf_cumulative_weights(len(products), difficulty.PRODUCT_POPULARITY_EXPONENT)
    return Category(
        name=spec.name,
        slug=slugify(spec.name),
        subcategories=tuple(sub.name for sub in spec.subcategories),
        products=tuple(products),
        popularity_cum_weights=tuple(weights),
    )


def _price(rng: random.Random, base_price: int) -> int:
    """A shop-like price: log-normal around the base, ending in 99 minor units."""
    raw = base_price * math.exp(rng.gauss(0.0, difficulty.PRICE_SPREAD))
    return max(99, int(raw // 100) * 100 + 99)
