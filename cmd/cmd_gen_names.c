/*
 * cmd_gen_names.c — see cmd_gen_names.h. A rank is spread over a few word
 * lists (mixed-radix digits of a multiple of the rank, so neighbours differ
 * in every part), and ranks past the lists' product get a city, which keeps
 * every name distinct up to 5,000 parties per unit and more.
 */
#include "cmd_gen_names.h"

#include <stdio.h>
#include <string.h>

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

typedef struct lists {
    const char *const *a;
    size_t na;
    const char *const *b;
    size_t nb;
    const char *const *c;
    size_t nc;
    const char *const *cities;
    size_t ncities;
    const char *const *countries;
    size_t ncountries;
    bool form_first; /* the company form before the name, no spaces (Japanese, Chinese) */
} lists_t;

static const char *const am_a[] = {"Acme",     "Northwind",  "Bluebird",  "Pinecrest",
                                   "Redwood",  "Summit",     "Harbor",    "Lakeside",
                                   "Granite",  "Silverline", "Cascade",   "Prairie",
                                   "Keystone", "Mesa",       "Riverside", "Copperfield"};
static const char *const am_b[] = {"Supply", "Logistics", "Foods",    "Industries",
                                   "Health", "Retail",    "Energy",   "Software",
                                   "Motors", "Textiles",  "Printing", "Hardware"};
static const char *const am_c[] = {"Inc.", "LLC", "Corp.", "Co."};
static const char *const am_cities[] = {"Denver",   "Austin",  "Toronto", "Chicago",
                                        "Portland", "Phoenix", "Boston",  "Monterrey",
                                        "Atlanta",  "Seattle", "Calgary", "São Paulo"};
static const char *const am_countries[] = {"US", "US", "US", "CA", "MX", "BR"};

static const char *const eu_a[] = {
    "Müller",   "Schäfer", "Lefèvre", "Dupont", "Rossi",    "García", "Jansen",     "Nowak",
    "Åkerlund", "Brennan", "Kovačić", "Šimek",  "Fournier", "Weiß",   "Østergaard", "Peña"};
static const char *const eu_b[] = {"Handel",  "Logistik",     "Services", "Distribution",
                                   "Technik", "Alimentation", "Médical",  "Bau",
                                   "Mode",    "Énergie",      "Druck",    "Werkzeuge"};
static const char *const eu_c[] = {"GmbH", "SA", "S.p.A.", "B.V.", "Ltd", "AB", "s.r.o.", "SARL"};
static const char *const eu_cities[] = {"München", "Lyon",     "Torino",  "Sevilla",
                                        "Gdańsk",  "Göteborg", "Utrecht", "Zürich",
                                        "Kraków",  "Bordeaux", "Leeds",   "Köln"};
static const char *const eu_countries[] = {"DE", "FR", "IT", "ES", "NL", "PL", "SE", "GB"};

static const char *const ap_a[] = {"さくら", "富士", "大和", "東洋", "日の出", "みどり",
                                   "北斗",   "青葉", "華南", "長江", "明光",   "瑞穂",
                                   "白山",   "若葉", "光明", "翠峰"};
static const char *const ap_b[] = {"商事", "物産", "工業", "電機", "食品", "運輸",
                                   "化学", "精機", "建設", "貿易", "薬品", "製作所"};
static const char *const ap_c[] = {"株式会社", "有限公司"};
static const char *const ap_cities[] = {"東京", "大阪", "名古屋", "福岡", "札幌", "上海",
                                        "深圳", "横浜", "神戸",   "京都", "仙台", "広州"};
static const char *const ap_countries[] = {"JP", "JP", "JP", "CN", "SG", "AU"};

static const char *const gu_a[] = {"Al Noor",   "Al Waha",    "Al Saqr",  "Al Bahar",
                                   "Al Rayan",  "Al Khaleej", "Al Fajr",  "Al Qamar",
                                   "Al Jazira", "Al Nakheel", "Al Manar", "Al Safa"};
static const char *const gu_b[] = {"Trading",   "Contracting", "Foodstuff", "Services",
                                   "Logistics", "Engineering", "Medical",   "Electrical"};
static const char *const gu_c[] = {"Co. W.L.L.", "LLC", "Est.", "Group"};
static const char *const gu_cities[] = {"Kuwait City", "Dubai",  "Riyadh", "Doha",
                                        "Manama",      "Muscat", "Jeddah", "Abu Dhabi"};
static const char *const gu_countries[] = {"KW", "KW", "AE", "SA", "QA", "BH"};

static const lists_t k_lists[4] = {
    {am_a, LEN(am_a), am_b, LEN(am_b), am_c, LEN(am_c), am_cities, LEN(am_cities), am_countries,
     LEN(am_countries), false},
    {eu_a, LEN(eu_a), eu_b, LEN(eu_b), eu_c, LEN(eu_c), eu_cities, LEN(eu_cities), eu_countries,
     LEN(eu_countries), false},
    /* Japanese and Chinese write the company form around the name. */
    {ap_a, LEN(ap_a), ap_b, LEN(ap_b), ap_c, LEN(ap_c), ap_cities, LEN(ap_cities), ap_countries,
     LEN(ap_countries), true},
    {gu_a, LEN(gu_a), gu_b, LEN(gu_b), gu_c, LEN(gu_c), gu_cities, LEN(gu_cities), gu_countries,
     LEN(gu_countries), false},
};

void gen_party_profile(bool ar, uint32_t idx, uint32_t n, int bu, const char *id,
                       gen_profile_t *out)
{
    const lists_t *l = &k_lists[bu >= 0 && bu < 4 ? bu : 0];
    size_t per = l->na * l->nb * l->nc;
    /* 7 is coprime with every list length above, so consecutive ranks
       differ in the first word and the map stays one-to-one below `per`. */
    size_t k = (size_t)idx % per * 7 % per;
    const char *a = l->a[k % l->na];
    const char *b = l->b[k / l->na % l->nb];
    const char *c = l->c[k / (l->na * l->nb) % l->nc];
    int len = l->form_first ? snprintf(out->name, sizeof out->name, "%s%s%s", c, a, b)
                            : snprintf(out->name, sizeof out->name, "%s %s %s", a, b, c);
    size_t round = (size_t)idx / per;
    if (round > 0 && len > 0 && (size_t)len < sizeof out->name) {
        const char *city = l->cities[(round - 1) % l->ncities];
        size_t again = (round - 1) / l->ncities;
        if (again == 0)
            snprintf(out->name + len, sizeof out->name - (size_t)len, " (%s)", city);
        else
            snprintf(out->name + len, sizeof out->name - (size_t)len, " (%s %zu)", city, again + 1);
    }
    const char *cc = l->countries[idx % l->ncountries];
    if (l->form_first) /* a kabushiki kaisha is Japanese, a youxian gongsi Chinese */
        cc = c == l->c[0] ? "JP" : "CN";
    memcpy(out->country, cc, 3);
    if (ar)
        out->segment = idx < n / 20 + 1 ? "enterprise"
                       : idx < n / 4    ? "mid-market"
                                        : "small business";
    else
        out->segment = idx < n / 20 + 1 ? "strategic" : idx < n / 4 ? "preferred" : "tactical";
    /* A lower-case copy of the id: an address of the reserved .example domain. */
    char slug[32];
    size_t i = 0;
    for (; id[i] != '\0' && i + 1 < sizeof slug; i++)
        slug[i] = id[i] >= 'A' && id[i] <= 'Z' ? (char)(id[i] - 'A' + 'a') : id[i];
    slug[i] = '\0';
    snprintf(out->email, sizeof out->email, "%s@%s.example", ar ? "ap" : "ar", slug);
}
