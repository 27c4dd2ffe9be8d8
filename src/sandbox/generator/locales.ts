/**
 * Country data for the generator: names, legal suffixes, cities, street and postal formats,
 * phone formats, tax ids. Words are `[native, latin]` pairs so that non-Latin companies
 * also get an ASCII domain/email and a transliterated spelling.
 */
import type { Prng } from "../common/prng.ts";
import { INDUSTRY } from "../espocrm/metadata.ts";

export type Script = "latin" | "arabic" | "hebrew" | "greek" | "cyrillic" | "cjk";
export type Word = readonly [native: string, latin: string];

export interface LegalSuffix {
  /** The spelling most records use. */
  canonical: Word;
  /** Other spellings of the same legal form seen in the wild. */
  variants: readonly string[];
}

export interface City {
  city: Word;
  state?: string;
  /** Postal code prefix or full pattern input for `postal`. */
  postalSeed: string;
}

export interface Locale {
  code: "US" | "UK" | "DE" | "FR" | "ES" | "NL" | "JP" | "AE" | "IL" | "GR" | "BG";
  /** ERPNext Country name (Link Country). */
  country: string;
  /** Spellings of the country seen in CRM data. */
  countryVariants: readonly string[];
  currency: string;
  weight: number;
  script: Script;
  tld: string;
  /** International dialling code without "+". */
  dial: string;
  suffixes: readonly LegalSuffix[];
  /** Whether the legal form precedes the name (e.g. 株式会社 ○○). */
  surnames: readonly Word[];
  firstNames: readonly Word[];
  nouns: readonly Word[];
  /**
   * Name templates, tokens separated by spaces: S surname, S2 a second surname, N noun, C city,
   * A adjective, B a coined brand (Latin), K a coined brand in katakana; SN / CN / SNN / KN glue
   * tokens without spaces (Japanese). A leading "~" marks a company of this country whose name is
   * in Latin script (common in the UAE, Israel, Greece, Bulgaria); other words are literal.
   */
  templates: readonly string[];
  cities: readonly City[];
  streets: readonly Word[];
  /** Street-type pairs [long, short]; empty when the street word already contains the type. */
  streetTypes: readonly (readonly [string, string])[];
  /** Render a street line. `num` house number. `short` picks the abbreviated street type. */
  streetLine: (street: string, type: readonly [string, string] | undefined, num: number, short: boolean) => string;
  /** Canonical postal code for a city and the variant spellings of it. */
  postal: (p: Prng, city: City) => string;
  postalVariants: (canonical: string) => string[];
  /** National significant number generator (digits only, no trunk prefix). */
  nationalNumber: (p: Prng) => string;
  /** Phone renderings of the national number. */
  phoneFormats: ReadonlyArray<(n: string, dial: string) => string>;
  taxId: (p: Prng) => string;
  salutations: readonly string[];
}

const w = (s: string): Word => [s, s];
const ws = (list: string): Word[] => list.split(",").map((s) => w(s.trim()));

const US_CITIES: City[] = [
  { city: w("New York"), state: "NY", postalSeed: "100" },
  { city: w("San Francisco"), state: "CA", postalSeed: "941" },
  { city: w("Chicago"), state: "IL", postalSeed: "606" },
  { city: w("Austin"), state: "TX", postalSeed: "787" },
  { city: w("Seattle"), state: "WA", postalSeed: "981" },
  { city: w("Boston"), state: "MA", postalSeed: "021" },
  { city: w("Denver"), state: "CO", postalSeed: "802" },
  { city: w("Atlanta"), state: "GA", postalSeed: "303" },
  { city: w("Miami"), state: "FL", postalSeed: "331" },
  { city: w("Portland"), state: "OR", postalSeed: "972" },
  { city: w("Minneapolis"), state: "MN", postalSeed: "554" },
  { city: w("Phoenix"), state: "AZ", postalSeed: "850" },
];

export const LOCALES: readonly Locale[] = [
  {
    code: "US",
    country: "United States",
    countryVariants: ["United States", "USA", "US", "U.S.A.", "United States of America"],
    currency: "USD",
    weight: 30,
    script: "latin",
    tld: "com",
    dial: "1",
    suffixes: [
      { canonical: w("Inc."), variants: ["Inc", "Incorporated", "INC.", ", Inc."] },
      { canonical: w("LLC"), variants: ["L.L.C.", "Llc", ", LLC"] },
      { canonical: w("Corp."), variants: ["Corporation", "Corp", "CORP"] },
      { canonical: w("Co."), variants: ["Company", "Co"] },
    ],
    surnames: ws(
      "Harper,Mitchell,Reynolds,Carter,Brooks,Sullivan,Bennett,Hayes,Foster,Coleman,Jenkins,Perry,Russell,Griffin,Wallace,Hamilton,Graham,Warren,Dixon,Porter,Hunter,Palmer,Mason,Fisher,Ellis,Stone,Tucker,Barker,Lambert,Whitaker",
    ),
    firstNames: ws(
      "James,Mary,Robert,Patricia,John,Jennifer,Michael,Linda,David,Elizabeth,William,Barbara,Richard,Susan,Joseph,Jessica,Thomas,Sarah,Chris,Karen,Daniel,Nancy,Matthew,Lisa,Anthony,Betty,Mark,Sandra,Steven,Ashley",
    ),
    nouns: ws(
      "Logistics,Manufacturing,Technologies,Systems,Solutions,Industries,Foods,Supply,Engineering,Holdings,Labs,Analytics,Partners,Freight,Components,Materials,Services,Distribution,Tooling,Robotics,Energy,Health,Media,Brothers,Associates",
    ),
    templates: [
      "S N",
      "S N",
      "A N",
      "S & S2",
      "C N",
      "S N International",
      "A N International",
      "S Brothers N",
      "B N",
      "B N",
      "B N",
      "B",
      "B N International",
      "A B N",
    ],
    cities: US_CITIES,
    streets: ws("Main,Oak,Maple,Washington,Lake,Hill,Park,Pine,Cedar,Elm,Sunset,Market,Mission,Broadway,Highland,River"),
    streetTypes: [
      ["Street", "St."],
      ["Avenue", "Ave."],
      ["Road", "Rd."],
      ["Boulevard", "Blvd."],
      ["Drive", "Dr."],
      ["Lane", "Ln."],
    ],
    streetLine: (s, t, n, short) => `${n} ${s}${t ? ` ${short ? t[1] : t[0]}` : ""}`,
    postal: (p, c) => c.postalSeed + p.digits(5 - c.postalSeed.length),
    postalVariants: (z) => [z, `${z}-${String(1000 + (Number(z) % 9000)).padStart(4, "0")}`],
    nationalNumber: (p) => `${p.int(2, 9)}${p.digits(2)}555${p.digits(4)}`,
    phoneFormats: [
      (n) => `(${n.slice(0, 3)}) ${n.slice(3, 6)}-${n.slice(6)}`,
      (n, d) => `+${d} ${n.slice(0, 3)}-${n.slice(3, 6)}-${n.slice(6)}`,
      (n) => `${n.slice(0, 3)}.${n.slice(3, 6)}.${n.slice(6)}`,
      (n, d) => `+${d}${n}`,
      (n) => `${n.slice(0, 3)}-${n.slice(3, 6)}-${n.slice(6)} ext. ${n.slice(7)}`,
    ],
    taxId: (p) => `${p.digits(2)}-${p.digits(7)}`,
    salutations: ["Mr.", "Ms.", "Mrs.", "Dr.", ""],
  },
  {
    code: "UK",
    country: "United Kingdom",
    countryVariants: ["United Kingdom", "UK", "Great Britain", "England", "U.K."],
    currency: "GBP",
    weight: 14,
    script: "latin",
    tld: "co.uk",
    dial: "44",
    suffixes: [
      { canonical: w("Ltd"), variants: ["Limited", "Ltd.", "LTD", "Ltd"] },
      { canonical: w("PLC"), variants: ["plc", "P.L.C.", "Public Limited Company"] },
      { canonical: w("LLP"), variants: ["L.L.P.", "llp"] },
    ],
    surnames: ws(
      "Smith,Jones,Taylor,Brown,Williams,Wilson,Johnson,Davies,Robinson,Wright,Thompson,Evans,Walker,White,Roberts,Green,Hall,Wood,Jackson,Clarke,Hughes,Edwards,Turner,Hill,Moore,Cooper,Ward,Harris",
    ),
    firstNames: ws(
      "Oliver,Amelia,George,Isla,Harry,Ava,Jack,Emily,Charlie,Sophie,Thomas,Grace,Oscar,Lily,William,Freya,James,Ella,Alfie,Chloe,Henry,Poppy,Archie,Evie",
    ),
    nouns: ws(
      "Engineering,Consulting,Trading,Holdings,Logistics,Foods,Textiles,Instruments,Print,Surveyors,Builders,Motors,Software,Pharmaceuticals,Packaging,Hardware,International,Brewing,Tea Company,Laboratories",
    ),
    templates: ["S N", "S & S2", "C N", "S N", "A N", "S and Sons", "C N International", "B N", "B N", "B", "B N International"],
    cities: [
      { city: w("London"), postalSeed: "EC1A" },
      { city: w("London"), postalSeed: "SW1A" },
      { city: w("Manchester"), postalSeed: "M1" },
      { city: w("Birmingham"), postalSeed: "B2" },
      { city: w("Leeds"), postalSeed: "LS1" },
      { city: w("Glasgow"), postalSeed: "G1" },
      { city: w("Bristol"), postalSeed: "BS1" },
      { city: w("Edinburgh"), postalSeed: "EH1" },
      { city: w("Cambridge"), postalSeed: "CB2" },
    ],
    streets: ws("High,Church,Station,Victoria,Green,Manor,Park,Queen,King,Mill,Kings,Albert,York,Castle"),
    streetTypes: [
      ["Street", "St"],
      ["Road", "Rd"],
      ["Lane", "Ln"],
      ["Avenue", "Ave"],
      ["Close", "Cl"],
      ["Way", "Way"],
    ],
    streetLine: (s, t, n, short) => `${n} ${s}${t ? ` ${short ? t[1] : t[0]}` : ""}`,
    postal: (p, c) => `${c.postalSeed} ${p.int(1, 9)}${p.pick(["AA", "AB", "BD", "HT", "QX", "NP", "JJ"])}`,
    postalVariants: (z) => [z, z.replace(" ", ""), z.toLowerCase()],
    nationalNumber: (p) => `20${p.digits(8)}`,
    phoneFormats: [
      (n, d) => `+${d} ${n.slice(0, 2)} ${n.slice(2, 6)} ${n.slice(6)}`,
      (n) => `0${n.slice(0, 2)} ${n.slice(2, 6)} ${n.slice(6)}`,
      (n, d) => `+${d} (0)${n.slice(0, 2)} ${n.slice(2)}`,
      (n) => `0${n}`,
    ],
    taxId: (p) => `GB${p.digits(9)}`,
    salutations: ["Mr.", "Ms.", "Mrs.", "Dr.", ""],
  },
  {
    code: "DE",
    country: "Germany",
    countryVariants: ["Germany", "Deutschland", "DE", "GERMANY"],
    currency: "EUR",
    weight: 12,
    script: "latin",
    tld: "de",
    dial: "49",
    suffixes: [
      { canonical: w("GmbH"), variants: ["GMBH", "Gmbh", "G.m.b.H."] },
      { canonical: w("AG"), variants: ["A.G.", "Aktiengesellschaft"] },
      { canonical: w("GmbH & Co. KG"), variants: ["GmbH & Co KG", "GmbH u. Co. KG"] },
      { canonical: w("KG"), variants: ["K.G."] },
    ],
    surnames: ws(
      "Müller,Schmidt,Schneider,Fischer,Weber,Meyer,Wagner,Becker,Schulz,Hoffmann,Schäfer,Koch,Bauer,Richter,Klein,Wolf,Schröder,Neumann,Schwarz,Zimmermann,Braun,Krüger,Hofmann,Hartmann,Lange,Weiß",
    ),
    firstNames: ws(
      "Lukas,Anna,Jonas,Lea,Felix,Hannah,Maximilian,Sophie,Paul,Marie,Leon,Laura,Finn,Julia,Jürgen,Ursula,Günter,Renate,Björn,Käthe,Stefan,Sabine",
    ),
    nouns: ws(
      "Maschinenbau,Elektrotechnik,Logistik,Metallbau,Automation,Bäckerei,Baustoffe,Feinmechanik,Kunststofftechnik,Antriebstechnik,Spedition,Medizintechnik,Werkzeugbau,Verpackung,Industrieservice,Software",
    ),
    templates: ["S N", "S N", "C N", "S & S2 N", "N S", "B N", "B N", "B"],
    cities: [
      { city: w("Berlin"), postalSeed: "10" },
      { city: w("München"), postalSeed: "80" },
      { city: w("Hamburg"), postalSeed: "20" },
      { city: w("Köln"), postalSeed: "50" },
      { city: w("Frankfurt am Main"), postalSeed: "60" },
      { city: w("Stuttgart"), postalSeed: "70" },
      { city: w("Düsseldorf"), postalSeed: "40" },
      { city: w("Leipzig"), postalSeed: "04" },
      { city: w("Nürnberg"), postalSeed: "90" },
    ],
    streets: ws("Haupt,Bahnhof,Schul,Garten,Dorf,Berg,Linden,Kirch,Wald,Ring,Goethe,Schiller,Industrie,Mozart"),
    streetTypes: [
      ["straße", "str."],
      ["weg", "weg"],
      ["allee", "allee"],
    ],
    streetLine: (s, t, n, short) => `${s}${t ? (short ? t[1] : t[0]) : ""} ${n}`,
    postal: (p, c) => c.postalSeed + p.digits(3),
    postalVariants: (z) => [z, `D-${z}`, `DE-${z}`],
    nationalNumber: (p) => `${p.pick(["30", "89", "40", "221", "69", "711"])}${p.digits(7)}`,
    phoneFormats: [
      (n, d) => `+${d} ${n.slice(0, 2)} ${n.slice(2)}`,
      (n) => `0${n.slice(0, 2)} ${n.slice(2)}`,
      (n) => `0${n.slice(0, 2)}/${n.slice(2, 5)} ${n.slice(5)}`,
      (n, d) => `+${d} (0)${n.slice(0, 2)} ${n.slice(2, 5)}-${n.slice(5)}`,
    ],
    taxId: (p) => `DE${p.digits(9)}`,
    salutations: ["Mr.", "Ms.", "Dr.", ""],
  },
  {
    code: "FR",
    country: "France",
    countryVariants: ["France", "FR", "FRANCE", "République française"],
    currency: "EUR",
    weight: 10,
    script: "latin",
    tld: "fr",
    dial: "33",
    suffixes: [
      { canonical: w("SARL"), variants: ["S.A.R.L.", "Sarl", "S.à r.l."] },
      { canonical: w("S.A."), variants: ["SA", "S.A", "Société Anonyme"] },
      { canonical: w("SAS"), variants: ["S.A.S.", "Sas"] },
    ],
    surnames: ws(
      "Martin,Bernard,Dubois,Thomas,Robert,Richard,Petit,Durand,Leroy,Moreau,Simon,Laurent,Lefèvre,Michel,Garcia,David,Bertrand,Roux,Vincent,Fournier,Morel,Girard,André,Lefebvre,Mercier,Dupont,Lambert,Bonnet",
    ),
    firstNames: ws(
      "Jean,Marie,Pierre,Camille,Louis,Chloé,Hugo,Léa,Émile,Inès,Gabriel,Manon,Raphaël,Zoé,Jules,Élodie,Théo,Clémence,François,Hélène,Benoît,Céline",
    ),
    nouns: ws(
      "Transports,Boulangerie,Électricité,Menuiserie,Conseil,Informatique,Bâtiment,Imprimerie,Distribution,Pharmacie,Équipements,Logistique,Vins,Fromagerie,Ingénierie",
    ),
    templates: ["N S", "N S", "S & S2", "N de C", "S N", "Groupe S", "N B", "N B", "B"],
    cities: [
      { city: w("Paris"), postalSeed: "750" },
      { city: w("Lyon"), postalSeed: "690" },
      { city: w("Marseille"), postalSeed: "130" },
      { city: w("Toulouse"), postalSeed: "310" },
      { city: w("Bordeaux"), postalSeed: "330" },
      { city: w("Lille"), postalSeed: "590" },
      { city: w("Nantes"), postalSeed: "440" },
      { city: w("Strasbourg"), postalSeed: "670" },
    ],
    streets: ws(
      "de la Paix,Victor Hugo,de la République,du Général de Gaulle,Jean Jaurès,des Lilas,Pasteur,de Verdun,Saint-Honoré,du Château",
    ),
    streetTypes: [
      ["rue", "r."],
      ["avenue", "av."],
      ["boulevard", "bd"],
      ["place", "pl."],
    ],
    streetLine: (s, t, n, short) => `${n}${short ? "," : ""} ${t ? (short ? t[1] : t[0]) : "rue"} ${s}`,
    postal: (p, c) => c.postalSeed + p.digits(2),
    postalVariants: (z) => [z, `${z.slice(0, 2)} ${z.slice(2)}`, `F-${z}`],
    nationalNumber: (p) => `${p.int(1, 5)}${p.digits(8)}`,
    phoneFormats: [
      (n, d) => `+${d} ${n[0]} ${n.slice(1, 3)} ${n.slice(3, 5)} ${n.slice(5, 7)} ${n.slice(7)}`,
      (n) => `0${n[0]} ${n.slice(1, 3)} ${n.slice(3, 5)} ${n.slice(5, 7)} ${n.slice(7)}`,
      (n) => `0${n[0]}.${n.slice(1, 3)}.${n.slice(3, 5)}.${n.slice(5, 7)}.${n.slice(7)}`,
      (n, d) => `+${d}(0)${n}`,
    ],
    taxId: (p) => `FR${p.digits(11)}`,
    salutations: ["Mr.", "Ms.", "Mrs.", ""],
  },
  {
    code: "ES",
    country: "Spain",
    countryVariants: ["Spain", "España", "ES", "Espana"],
    currency: "EUR",
    weight: 7,
    script: "latin",
    tld: "es",
    dial: "34",
    suffixes: [
      { canonical: w("S.L."), variants: ["SL", "S.L", "Sociedad Limitada", "S.L.U."] },
      { canonical: w("S.A."), variants: ["SA", "Sociedad Anónima"] },
    ],
    surnames: ws(
      "García,Rodríguez,González,Fernández,López,Martínez,Sánchez,Pérez,Gómez,Martín,Jiménez,Ruiz,Hernández,Díaz,Moreno,Muñoz,Álvarez,Romero,Navarro,Torres,Domínguez,Gil,Vázquez,Serrano,Ramos,Castillo,Ortiz,Núñez",
    ),
    firstNames: ws(
      "Antonio,María,José,Carmen,Manuel,Ana,Francisco,Lucía,David,Laura,Javier,Marta,Alejandro,Paula,Sergio,Sofía,Íñigo,Begoña,Jesús,Pilar,Nuria,Óscar",
    ),
    nouns: ws(
      "Construcciones,Transportes,Distribuciones,Ingeniería,Alimentación,Consultores,Inversiones,Tecnología,Servicios,Suministros,Maquinaria,Comercial,Bodegas,Logística",
    ),
    templates: ["N S", "N S", "N S y S2", "S N", "N C", "N B", "N B", "B"],
    cities: [
      { city: w("Madrid"), postalSeed: "280" },
      { city: w("Barcelona"), postalSeed: "080" },
      { city: w("Valencia"), postalSeed: "460" },
      { city: w("Sevilla"), postalSeed: "410" },
      { city: w("Bilbao"), postalSeed: "480" },
      { city: w("Málaga"), postalSeed: "290" },
      { city: w("Zaragoza"), postalSeed: "500" },
    ],
    streets: ws("Mayor,de Alcalá,Gran Vía,del Sol,de la Constitución,San Vicente,de Andalucía,Real,Nueva,de Colón"),
    streetTypes: [
      ["Calle", "C/"],
      ["Avenida", "Avda."],
      ["Paseo", "Pº"],
      ["Plaza", "Pza."],
    ],
    streetLine: (s, t, n, short) => `${t ? (short ? t[1] : t[0]) : "Calle"} ${s}${short ? "," : ""} ${n}`,
    postal: (p, c) => c.postalSeed + p.digits(2),
    postalVariants: (z) => [z, `E-${z}`],
    nationalNumber: (p) => `9${p.digits(8)}`,
    phoneFormats: [
      (n, d) => `+${d} ${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`,
      (n) => `${n.slice(0, 3)} ${n.slice(3, 5)} ${n.slice(5, 7)} ${n.slice(7)}`,
      (n, d) => `00${d} ${n}`,
      (n) => n,
    ],
    taxId: (p) => `ES${p.pick(["A", "B"])}${p.digits(8)}`,
    salutations: ["Mr.", "Ms.", "Mrs.", ""],
  },
  {
    code: "NL",
    country: "Netherlands",
    countryVariants: ["Netherlands", "The Netherlands", "Nederland", "Holland", "NL"],
    currency: "EUR",
    weight: 7,
    script: "latin",
    tld: "nl",
    dial: "31",
    suffixes: [
      { canonical: w("B.V."), variants: ["BV", "B.V", "bv"] },
      { canonical: w("N.V."), variants: ["NV", "N.V"] },
    ],
    surnames: ws(
      "de Jong,Jansen,de Vries,van den Berg,van Dijk,Bakker,Janssen,Visser,Smit,Meijer,de Boer,Mulder,de Groot,Bos,Vos,Peters,Hendriks,van Leeuwen,Dekker,Brouwer,de Wit,Dijkstra",
    ),
    firstNames: ws("Daan,Emma,Sem,Julia,Lucas,Mila,Levi,Tess,Finn,Sophie,Bram,Sanne,Jeroen,Anouk,Pieter,Femke,Joost,Marieke"),
    nouns: ws("Logistiek,Techniek,Installatietechniek,Bouw,Handelsonderneming,Transport,Automatisering,Adviesgroep,Tuinbouw,Metaal,Data"),
    templates: ["S N", "S N", "N S", "C N", "S & S2", "B N", "B N", "B"],
    cities: [
      { city: w("Amsterdam"), postalSeed: "10" },
      { city: w("Rotterdam"), postalSeed: "30" },
      { city: w("Den Haag"), postalSeed: "25" },
      { city: w("Utrecht"), postalSeed: "35" },
      { city: w("Eindhoven"), postalSeed: "56" },
      { city: w("Groningen"), postalSeed: "97" },
    ],
    streets: ws("Keizers,Heren,Prinsen,Kerk,Molen,Dorps,Stations,Markt,Hoofd,Zuid"),
    streetTypes: [
      ["straat", "str."],
      ["gracht", "gr."],
      ["weg", "wg."],
      ["laan", "ln."],
    ],
    streetLine: (s, t, n, short) => `${s}${t ? (short ? t[1] : t[0]) : ""} ${n}`,
    postal: (p, c) => `${c.postalSeed}${p.digits(2)} ${p.pick(["AB", "CJ", "KL", "RT", "GH", "XZ", "BN"])}`,
    postalVariants: (z) => [z, z.replace(" ", ""), z.toLowerCase()],
    nationalNumber: (p) => `${p.pick(["20", "10", "70", "30", "40"])}${p.digits(7)}`,
    phoneFormats: [
      (n, d) => `+${d} ${n.slice(0, 2)} ${n.slice(2, 5)} ${n.slice(5)}`,
      (n) => `0${n.slice(0, 2)}-${n.slice(2)}`,
      (n, d) => `+${d} (0)${n.slice(0, 2)} ${n.slice(2)}`,
      (n) => `0${n}`,
    ],
    taxId: (p) => `NL${p.digits(9)}B01`,
    salutations: ["Mr.", "Ms.", ""],
  },
  {
    code: "JP",
    country: "Japan",
    countryVariants: ["Japan", "日本", "JP", "JAPAN"],
    currency: "JPY",
    weight: 8,
    script: "cjk",
    tld: "co.jp",
    dial: "81",
    suffixes: [
      { canonical: ["株式会社", "K.K."], variants: ["(株)", "Kabushiki Kaisha", "Co., Ltd.", "KK"] },
      { canonical: ["合同会社", "G.K."], variants: ["GK", "Godo Kaisha", "LLC"] },
      { canonical: ["有限会社", "Y.K."], variants: ["(有)", "Yugen Kaisha", "Ltd."] },
    ],
    surnames: [
      ["山田", "Yamada"],
      ["田中", "Tanaka"],
      ["佐藤", "Sato"],
      ["鈴木", "Suzuki"],
      ["高橋", "Takahashi"],
      ["伊藤", "Ito"],
      ["渡辺", "Watanabe"],
      ["中村", "Nakamura"],
      ["小林", "Kobayashi"],
      ["加藤", "Kato"],
      ["吉田", "Yoshida"],
      ["松本", "Matsumoto"],
    ],
    firstNames: [
      ["太郎", "Taro"],
      ["花子", "Hanako"],
      ["健一", "Kenichi"],
      ["由美", "Yumi"],
      ["大輔", "Daisuke"],
      ["美咲", "Misaki"],
      ["翔太", "Shota"],
      ["直子", "Naoko"],
      ["誠", "Makoto"],
      ["陽子", "Yoko"],
    ],
    nouns: [
      ["製作所", "Seisakusho"],
      ["電機", "Denki"],
      ["商事", "Shoji"],
      ["工業", "Kogyo"],
      ["物産", "Bussan"],
      ["精密", "Seimitsu"],
      ["化学", "Kagaku"],
      ["食品", "Shokuhin"],
      ["運輸", "Unyu"],
      ["建設", "Kensetsu"],
    ],
    templates: ["SN", "SN", "CN", "SNN", "KN", "KN", "K"],
    cities: [
      { city: ["東京都千代田区", "Chiyoda-ku, Tokyo"], postalSeed: "100" },
      { city: ["東京都港区", "Minato-ku, Tokyo"], postalSeed: "105" },
      { city: ["大阪市北区", "Kita-ku, Osaka"], postalSeed: "530" },
      { city: ["名古屋市中区", "Naka-ku, Nagoya"], postalSeed: "460" },
      { city: ["横浜市西区", "Nishi-ku, Yokohama"], postalSeed: "220" },
      { city: ["福岡市博多区", "Hakata-ku, Fukuoka"], postalSeed: "812" },
      { city: ["京都市下京区", "Shimogyo-ku, Kyoto"], postalSeed: "600" },
    ],
    streets: [
      ["丸の内", "Marunouchi"],
      ["大手町", "Otemachi"],
      ["芝浦", "Shibaura"],
      ["梅田", "Umeda"],
      ["栄", "Sakae"],
      ["みなとみらい", "Minatomirai"],
      ["博多駅前", "Hakataekimae"],
    ],
    streetTypes: [],
    streetLine: (s, _t, n, short) =>
      short ? `${s} ${(n % 9) + 1}-${(n % 20) + 1}-${(n % 7) + 1}` : `${s}${(n % 9) + 1}丁目${(n % 20) + 1}番${(n % 7) + 1}号`,
    postal: (p, c) => `${c.postalSeed}-${p.digits(4)}`,
    postalVariants: (z) => [z, z.replace("-", ""), `〒${z}`],
    nationalNumber: (p) => `3${p.digits(8)}`,
    phoneFormats: [
      (n, d) => `+${d} ${n[0]}-${n.slice(1, 5)}-${n.slice(5)}`,
      (n) => `0${n[0]}-${n.slice(1, 5)}-${n.slice(5)}`,
      (n) => `0${n[0]}(${n.slice(1, 5)})${n.slice(5)}`,
      (n, d) => `+${d}${n}`,
    ],
    taxId: (p) => `T${p.digits(13)}`,
    salutations: ["Mr.", "Ms.", ""],
  },
  {
    code: "AE",
    country: "United Arab Emirates",
    countryVariants: ["United Arab Emirates", "UAE", "U.A.E.", "الإمارات العربية المتحدة"],
    currency: "AED",
    weight: 3,
    script: "arabic",
    tld: "ae",
    dial: "971",
    suffixes: [
      { canonical: ["ذ.م.م", "LLC"], variants: ["ذ م م", "L.L.C", "L.L.C.", "FZ-LLC"] },
      { canonical: ["ش.م.ع", "PJSC"], variants: ["P.J.S.C.", "ش م ع"] },
    ],
    surnames: [
      ["النور", "Al Noor"],
      ["الفلاح", "Al Falah"],
      ["المنصوري", "Al Mansoori"],
      ["الهاشمي", "Al Hashimi"],
      ["الخليج", "Al Khaleej"],
      ["الريان", "Al Rayyan"],
      ["السلام", "Al Salam"],
      ["الأمل", "Al Amal"],
      ["الزعابي", "Al Zaabi"],
      ["الشامسي", "Al Shamsi"],
      ["النعيمي", "Al Nuaimi"],
      ["الكعبي", "Al Kaabi"],
      ["الظاهري", "Al Dhaheri"],
      ["البحر", "Al Bahar"],
      ["الواحة", "Al Waha"],
    ],
    firstNames: [
      ["محمد", "Mohammed"],
      ["فاطمة", "Fatima"],
      ["أحمد", "Ahmed"],
      ["عائشة", "Aisha"],
      ["خالد", "Khalid"],
      ["مريم", "Mariam"],
      ["عمر", "Omar"],
      ["نور", "Noor"],
    ],
    nouns: [
      ["للتجارة", "Trading"],
      ["للمقاولات", "Contracting"],
      ["للخدمات اللوجستية", "Logistics"],
      ["للتقنية", "Technology"],
      ["للاستثمار", "Investments"],
      ["للصناعات", "Industries"],
      ["للعقارات", "Real Estate"],
      ["للشحن", "Shipping"],
      ["للأغذية", "Foods"],
      ["للمعدات", "Equipment"],
    ],
    templates: ["شركة S N", "S N", "مجموعة S N", "شركة S S2 N", "~ B N", "~ B N"],
    cities: [
      { city: ["دبي", "Dubai"], postalSeed: "" },
      { city: ["أبوظبي", "Abu Dhabi"], postalSeed: "" },
      { city: ["الشارقة", "Sharjah"], postalSeed: "" },
    ],
    streets: [
      ["شارع الشيخ زايد", "Sheikh Zayed Road"],
      ["شارع الرشيد", "Al Rashid Street"],
      ["شارع الوصل", "Al Wasl Road"],
      ["شارع الكورنيش", "Corniche Road"],
    ],
    streetTypes: [],
    streetLine: (s, _t, n, short) => (short ? `Bldg ${n}, ${s}` : `${s}، مبنى ${n}`),
    postal: (p) => `P.O. Box ${p.int(1000, 99999)}`,
    postalVariants: (z) => [z, z.replace("P.O. Box ", "PO Box "), ""],
    nationalNumber: (p) => `4${p.digits(7)}`,
    phoneFormats: [(n, d) => `+${d} ${n[0]} ${n.slice(1, 4)} ${n.slice(4)}`, (n) => `0${n[0]} ${n.slice(1)}`, (n, d) => `00${d}${n}`],
    taxId: (p) => `100${p.digits(12)}`,
    salutations: ["Mr.", "Ms.", ""],
  },
  {
    code: "IL",
    country: "Israel",
    countryVariants: ["Israel", "ישראל", "IL", "ISRAEL"],
    currency: "ILS",
    weight: 3,
    script: "hebrew",
    tld: "co.il",
    dial: "972",
    suffixes: [{ canonical: ['בע"מ', "Ltd"], variants: ["בע״מ", "בעמ", "Ltd.", "Limited"] }],
    surnames: [
      ["כהן", "Cohen"],
      ["לוי", "Levi"],
      ["מזרחי", "Mizrahi"],
      ["פרץ", "Peretz"],
      ["ביטון", "Biton"],
      ["אברהם", "Avraham"],
      ["פרידמן", "Friedman"],
      ["שפירא", "Shapira"],
      ["אזולאי", "Azoulay"],
      ["דהן", "Dahan"],
      ["אגבאריה", "Agbaria"],
      ["גולן", "Golan"],
      ["ברק", "Barak"],
      ["רוזן", "Rosen"],
    ],
    firstNames: [
      ["נועה", "Noa"],
      ["דוד", "David"],
      ["מיכל", "Michal"],
      ["יוסף", "Yosef"],
      ["תמר", "Tamar"],
      ["אורי", "Uri"],
      ["שירה", "Shira"],
      ["איתי", "Itai"],
    ],
    nouns: [
      ["טכנולוגיות", "Technologies"],
      ["מערכות", "Systems"],
      ["הנדסה", "Engineering"],
      ["סחר", "Trading"],
      ["תוכנה", "Software"],
      ["אלקטרוניקה", "Electronics"],
      ["תעשיות", "Industries"],
      ["שיווק", "Marketing"],
      ["בנייה", "Construction"],
      ["ייעוץ", "Consulting"],
    ],
    templates: ["S N", "N S", "S את S2", "S את S2 N", "~ B N", "~ B N"],
    cities: [
      { city: ["תל אביב-יפו", "Tel Aviv"], postalSeed: "61" },
      { city: ["ירושלים", "Jerusalem"], postalSeed: "91" },
      { city: ["חיפה", "Haifa"], postalSeed: "31" },
      { city: ["הרצליה", "Herzliya"], postalSeed: "46" },
    ],
    streets: [
      ["רחוב הרצל", "Herzl St."],
      ["שדרות רוטשילד", "Rothschild Blvd."],
      ["רחוב דיזנגוף", "Dizengoff St."],
      ["דרך מנחם בגין", "Menachem Begin Rd."],
    ],
    streetTypes: [],
    streetLine: (s, _t, n, short) => (short ? `${n} ${s}` : `${s} ${n}`),
    postal: (p, c) => c.postalSeed + p.digits(5),
    postalVariants: (z) => [z, `${z.slice(0, 5)} ${z.slice(5)}`],
    nationalNumber: (p) => `3${p.digits(7)}`,
    phoneFormats: [(n, d) => `+${d} ${n[0]}-${n.slice(1, 4)}-${n.slice(4)}`, (n) => `0${n[0]}-${n.slice(1)}`, (n, d) => `+${d}-${n}`],
    taxId: (p) => `5${p.digits(8)}`,
    salutations: ["Mr.", "Ms.", ""],
  },
  {
    code: "GR",
    country: "Greece",
    countryVariants: ["Greece", "Ελλάδα", "GR", "Hellas"],
    currency: "EUR",
    weight: 3,
    script: "greek",
    tld: "gr",
    dial: "30",
    suffixes: [
      { canonical: ["Α.Ε.", "S.A."], variants: ["ΑΕ", "Α.Ε", "SA", "A.E."] },
      { canonical: ["Ε.Π.Ε.", "Ltd"], variants: ["ΕΠΕ", "E.P.E.", "Ltd."] },
      { canonical: ["Ι.Κ.Ε.", "P.C."], variants: ["ΙΚΕ", "I.K.E.", "PC"] },
    ],
    surnames: [
      ["Παπαδόπουλος", "Papadopoulos"],
      ["Γεωργίου", "Georgiou"],
      ["Νικολάου", "Nikolaou"],
      ["Οικονόμου", "Oikonomou"],
      ["Βασιλείου", "Vasileiou"],
      ["Δημητρίου", "Dimitriou"],
      ["Ιωάννου", "Ioannou"],
      ["Κωνσταντίνου", "Konstantinou"],
      ["Αντωνίου", "Antoniou"],
      ["Μακρής", "Makris"],
      ["Αλεξίου", "Alexiou"],
      ["Πετρίδης", "Petridis"],
      ["Χατζής", "Chatzis"],
    ],
    firstNames: [
      ["Γιώργος", "Giorgos"],
      ["Μαρία", "Maria"],
      ["Νίκος", "Nikos"],
      ["Ελένη", "Eleni"],
      ["Κώστας", "Kostas"],
      ["Αικατερίνη", "Aikaterini"],
    ],
    nouns: [
      ["Ναυτιλιακή", "Shipping"],
      ["Τεχνική", "Technical"],
      ["Εμπορική", "Trading"],
      ["Κατασκευαστική", "Construction"],
      ["Τρόφιμα", "Foods"],
      ["Πληροφορική", "Informatics"],
      ["Ενεργειακή", "Energy"],
      ["Φαρμακευτική", "Pharmaceuticals"],
      ["Τουριστική", "Tourism"],
    ],
    templates: ["S N", "N S", "S & S2", "S & S2 N", "~ B N", "~ B N"],
    cities: [
      { city: ["Αθήνα", "Athens"], postalSeed: "10" },
      { city: ["Θεσσαλονίκη", "Thessaloniki"], postalSeed: "54" },
      { city: ["Πειραιάς", "Piraeus"], postalSeed: "18" },
      { city: ["Πάτρα", "Patras"], postalSeed: "26" },
    ],
    streets: [
      ["Οδός Ερμού", "Ermou St."],
      ["Λεωφόρος Κηφισίας", "Kifisias Ave."],
      ["Οδός Σταδίου", "Stadiou St."],
      ["Οδός Τσιμισκή", "Tsimiski St."],
    ],
    streetTypes: [],
    streetLine: (s, _t, n, short) => (short ? `${s} ${n}` : `${s} ${n}`),
    postal: (p, c) => `${c.postalSeed}${p.digits(1)} ${p.digits(2)}`,
    postalVariants: (z) => [z, z.replace(" ", "")],
    nationalNumber: (p) => `21${p.digits(8)}`,
    phoneFormats: [(n, d) => `+${d} ${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`, (n) => n, (n, d) => `+${d}-${n}`],
    taxId: (p) => `EL${p.digits(9)}`,
    salutations: ["Mr.", "Ms.", ""],
  },
  {
    code: "BG",
    country: "Bulgaria",
    countryVariants: ["Bulgaria", "България", "BG", "Republic of Bulgaria"],
    currency: "EUR",
    weight: 3,
    script: "cyrillic",
    tld: "bg",
    dial: "359",
    suffixes: [
      { canonical: ["ООД", "OOD"], variants: ["О.О.Д.", "Ltd.", "OOD"] },
      { canonical: ["ЕООД", "EOOD"], variants: ["Е.О.О.Д.", "EOOD", "Ltd."] },
      { canonical: ["АД", "AD"], variants: ["А.Д.", "JSC", "AD"] },
    ],
    surnames: [
      ["Иванов", "Ivanov"],
      ["Петров", "Petrov"],
      ["Георгиев", "Georgiev"],
      ["Димитров", "Dimitrov"],
      ["Стоянов", "Stoyanov"],
      ["Николов", "Nikolov"],
      ["Христов", "Hristov"],
      ["Тодоров", "Todorov"],
      ["Илиев", "Iliev"],
      ["Атанасов", "Atanasov"],
      ["Петков", "Petkov"],
      ["Ангелов", "Angelov"],
      ["Колев", "Kolev"],
    ],
    firstNames: [
      ["Иван", "Ivan"],
      ["Мария", "Maria"],
      ["Георги", "Georgi"],
      ["Елена", "Elena"],
      ["Димитър", "Dimitar"],
      ["Десислава", "Desislava"],
    ],
    nouns: [
      ["Транс", "Trans"],
      ["Строй", "Stroy"],
      ["Трейд", "Trade"],
      ["Инженеринг", "Engineering"],
      ["Софтуер", "Software"],
      ["Логистик", "Logistic"],
      ["Консулт", "Consult"],
      ["Агро", "Agro"],
      ["Енерджи", "Energy"],
      ["Медикал", "Medical"],
    ],
    templates: ["S N", "N S", "S и S2", "N S и S2", "~ B N", "~ B N"],
    cities: [
      { city: ["София", "Sofia"], postalSeed: "1" },
      { city: ["Пловдив", "Plovdiv"], postalSeed: "4" },
      { city: ["Варна", "Varna"], postalSeed: "9" },
      { city: ["Бургас", "Burgas"], postalSeed: "8" },
    ],
    streets: [
      ["ул. Витоша", "Vitosha St."],
      ["бул. Цар Освободител", "Tsar Osvoboditel Blvd."],
      ["ул. Раковски", "Rakovski St."],
      ["бул. България", "Bulgaria Blvd."],
    ],
    streetTypes: [],
    streetLine: (s, _t, n, short) => (short ? `${n} ${s}` : `${s} № ${n}`),
    postal: (p, c) => c.postalSeed + p.digits(3),
    postalVariants: (z) => [z, `BG-${z}`],
    nationalNumber: (p) => `2${p.digits(7)}`,
    phoneFormats: [(n, d) => `+${d} ${n[0]} ${n.slice(1, 4)} ${n.slice(4)}`, (n) => `0${n[0]} ${n.slice(1)}`, (n, d) => `00${d}${n}`],
    taxId: (p) => `BG${p.digits(9)}`,
    salutations: ["Mr.", "Ms.", ""],
  },
];

/** EspoCRM Account.industry options (v10 entityDefs), without the empty option: the sandbox's own list. */
export const INDUSTRIES: readonly string[] = INDUSTRY.filter((x) => x !== "");

/** Word abbreviations seen between systems (long ↔ short). */
export const ABBREVIATIONS: ReadonlyArray<readonly [string, string]> = [
  ["International", "Intl"],
  ["Manufacturing", "Mfg."],
  ["Technologies", "Tech"],
  ["Brothers", "Bros."],
  ["Associates", "Assoc."],
  ["Laboratories", "Labs"],
  ["Engineering", "Eng."],
  ["Distribution", "Dist."],
  ["Services", "Svcs"],
  ["Company", "Co."],
  ["Corporation", "Corp."],
  ["and", "&"],
];

export const ADJECTIVES: readonly string[] = [
  "Summit",
  "Pioneer",
  "Atlas",
  "Northwind",
  "Bluewater",
  "Keystone",
  "Evergreen",
  "Silverline",
  "Redwood",
  "Granite",
  "Liberty",
  "Horizon",
  "Frontier",
  "Cascade",
  "Meridian",
  "Vanguard",
];
