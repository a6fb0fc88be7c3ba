//! Static word lists for the election generator: UK regions and towns, people's names,
//! streets, polling venues and fictional parties.

/// A city or town: name, relative population weight inside its region, postcode area,
/// first postcode district number and telephone area code.
pub(super) struct City {
    pub name: &'static str,
    pub weight: f64,
    pub postcode_area: &'static str,
    pub first_district: u32,
    pub dialling_code: &'static str,
}

/// A UK nation or English region with its adult population weight (millions, roughly).
pub(super) struct Region {
    pub name: &'static str,
    pub weight: f64,
    pub cities: &'static [City],
}

const fn city(name: &'static str, weight: f64, postcode_area: &'static str, first_district: u32, dialling_code: &'static str) -> City {
    City { name, weight, postcode_area, first_district, dialling_code }
}

/// The 12 UK nations and English regions, weighted roughly by population.
pub(super) static REGIONS: &[Region] = &[
    Region {
        name: "North East",
        weight: 2.65,
        cities: &[
            city("Newcastle upon Tyne", 300.0, "NE", 1, "0191"),
            city("Sunderland", 275.0, "SR", 1, "0191"),
            city("Middlesbrough", 140.0, "TS", 1, "01642"),
            city("Durham", 50.0, "DH", 1, "0191"),
            city("Gateshead", 120.0, "NE", 8, "0191"),
        ],
    },
    Region {
        name: "North West",
        weight: 7.4,
        cities: &[
            city("Manchester", 550.0, "M", 1, "0161"),
            city("Liverpool", 490.0, "L", 1, "0151"),
            city("Preston", 145.0, "PR", 1, "01772"),
            city("Bolton", 195.0, "BL", 1, "01204"),
            city("Blackpool", 140.0, "FY", 1, "01253"),
            city("Salford", 270.0, "M", 5, "0161"),
        ],
    },
    Region {
        name: "Yorkshire and the Humber",
        weight: 5.5,
        cities: &[
            city("Leeds", 810.0, "LS", 1, "0113"),
            city("Sheffield", 555.0, "S", 1, "0114"),
            city("Bradford", 545.0, "BD", 1, "01274"),
            city("Kingston upon Hull", 270.0, "HU", 1, "01482"),
            city("York", 200.0, "YO", 1, "01904"),
            city("Huddersfield", 160.0, "HD", 1, "01484"),
        ],
    },
    Region {
        name: "East Midlands",
        weight: 4.9,
        cities: &[
            city("Nottingham", 325.0, "NG", 1, "0115"),
            city("Leicester", 370.0, "LE", 1, "0116"),
            city("Derby", 260.0, "DE", 1, "01332"),
            city("Lincoln", 105.0, "LN", 1, "01522"),
            city("Northampton", 225.0, "NN", 1, "01604"),
        ],
    },
    Region {
        name: "West Midlands",
        weight: 5.95,
        cities: &[
            city("Birmingham", 1140.0, "B", 1, "0121"),
            city("Coventry", 345.0, "CV", 1, "024"),
            city("Wolverhampton", 265.0, "WV", 1, "01902"),
            city("Stoke-on-Trent", 260.0, "ST", 1, "01782"),
            city("Worcester", 105.0, "WR", 1, "01905"),
        ],
    },
    Region {
        name: "East of England",
        weight: 6.35,
        cities: &[
            city("Norwich", 145.0, "NR", 1, "01603"),
            city("Cambridge", 145.0, "CB", 1, "01223"),
            city("Ipswich", 140.0, "IP", 1, "01473"),
            city("Peterborough", 215.0, "PE", 1, "01733"),
            city("Luton", 225.0, "LU", 1, "01582"),
            city("Colchester", 195.0, "CO", 1, "01206"),
        ],
    },
    Region {
        name: "London",
        weight: 8.8,
        cities: &[
            city("London", 1500.0, "SW", 1, "020"),
            city("Croydon", 390.0, "CR", 0, "020"),
            city("Barnet", 390.0, "EN", 4, "020"),
            city("Ealing", 365.0, "W", 5, "020"),
            city("Hackney", 260.0, "E", 8, "020"),
            city("Bromley", 330.0, "BR", 1, "020"),
        ],
    },
    Region {
        name: "South East",
        weight: 9.3,
        cities: &[
            city("Brighton", 280.0, "BN", 1, "01273"),
            city("Southampton", 250.0, "SO", 14, "023"),
            city("Portsmouth", 210.0, "PO", 1, "023"),
            city("Oxford", 160.0, "OX", 1, "01865"),
            city("Reading", 175.0, "RG", 1, "0118"),
            city("Milton Keynes", 290.0, "MK", 1, "01908"),
        ],
    },
    Region {
        name: "South West",
        weight: 5.7,
        cities: &[
            city("Bristol", 470.0, "BS", 1, "0117"),
            city("Plymouth", 265.0, "PL", 1, "01752"),
            city("Exeter", 130.0, "EX", 1, "01392"),
            city("Bath", 95.0, "BA", 1, "01225"),
            city("Swindon", 230.0, "SN", 1, "01793"),
            city("Bournemouth", 200.0, "BH", 1, "01202"),
        ],
    },
    Region {
        name: "Scotland",
        weight: 5.45,
        cities: &[
            city("Glasgow", 630.0, "G", 1, "0141"),
            city("Edinburgh", 525.0, "EH", 1, "0131"),
            city("Aberdeen", 225.0, "AB", 10, "01224"),
            city("Dundee", 150.0, "DD", 1, "01382"),
            city("Inverness", 48.0, "IV", 1, "01463"),
        ],
    },
    Region {
        name: "Wales",
        weight: 3.1,
        cities: &[
            city("Cardiff", 360.0, "CF", 10, "029"),
            city("Swansea", 245.0, "SA", 1, "01792"),
            city("Newport", 160.0, "NP", 10, "01633"),
            city("Wrexham", 65.0, "LL", 11, "01978"),
            city("Bangor", 18.0, "LL", 57, "01248"),
        ],
    },
    Region {
        name: "Northern Ireland",
        weight: 1.9,
        cities: &[city("Belfast", 345.0, "BT", 1, "028"), city("Derry", 85.0, "BT", 47, "028"), city("Lisburn", 50.0, "BT", 27, "028"), city("Newry", 27.0, "BT", 34, "028")],
    },
];

/// A fictional party: name, manifesto summary and base national popularity.
pub(super) struct Party {
    pub name: &'static str,
    pub platform: &'static str,
    pub base_share: f64,
}

/// Up to six fictional, realistic-sounding UK parties (the first `parties` are used).
pub(super) static PARTIES: &[Party] = &[
    Party { name: "Progressive Alliance", platform: "Rebuild the NHS, build 300,000 affordable homes a year and fund a green industrial strategy.", base_share: 0.30 },
    Party { name: "National Unity Party", platform: "Lower income tax, tighter border controls and a relief scheme for small businesses.", base_share: 0.27 },
    Party { name: "Liberal Reform Party", platform: "Proportional representation, stronger civil liberties and closer trade ties with Europe.", base_share: 0.15 },
    Party { name: "Green Future Party", platform: "Net zero by 2035, cheaper public transport and protection for green belt land.", base_share: 0.11 },
    Party { name: "Workers' Alliance", platform: "Public ownership of rail and water, a higher minimum wage and stronger unions.", base_share: 0.10 },
    Party { name: "Independent Communities Party", platform: "Devolve power and budgets to towns, councils and the nations of the UK.", base_share: 0.07 },
];

#[rustfmt::skip]
pub(super) static FEMALE_FIRST: &[&str] = &[
    "Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophie", "Grace", "Mia", "Poppy", "Ella", "Lily",
    "Evie", "Isabella", "Charlotte", "Jessica", "Sarah", "Emma", "Laura", "Rebecca", "Hannah",
    "Rachel", "Claire", "Helen", "Nicola", "Karen", "Susan", "Julie", "Alison", "Joanne", "Lisa",
    "Margaret", "Patricia", "Elizabeth", "Catherine", "Anne", "Jean", "Brenda", "Sandra", "Fiona",
    "Siobhan", "Aisha", "Priya", "Fatima", "Zara", "Niamh", "Ffion", "Morag", "Eilidh", "Megan",
    "Chloe",
];

#[rustfmt::skip]
pub(super) static MALE_FIRST: &[&str] = &[
    "Oliver", "George", "Harry", "Noah", "Jack", "Leo", "Arthur", "Oscar", "Charlie", "Jacob",
    "Thomas", "James", "William", "Daniel", "Matthew", "Joshua", "Samuel", "Benjamin", "Adam",
    "Luke", "David", "John", "Michael", "Paul", "Andrew", "Mark", "Richard", "Stephen", "Peter",
    "Robert", "Ian", "Gary", "Kevin", "Colin", "Graham", "Brian", "Keith", "Alan", "Derek",
    "Malcolm", "Mohammed", "Ravi", "Imran", "Arjun", "Callum", "Rhys", "Dafydd", "Hamish", "Ciaran",
    "Connor",
];

#[rustfmt::skip]
pub(super) static NEUTRAL_FIRST: &[&str] = &[
    "Alex", "Sam", "Charlie", "Jordan", "Robin", "Jamie", "Morgan", "Riley", "Taylor", "Casey",
    "Rowan", "Kit", "Ash", "Frankie", "Jesse", "Sky",
];

#[rustfmt::skip]
pub(super) static SURNAMES: &[&str] = &[
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes",
    "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin",
    "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee", "King", "Baker", "Harrison",
    "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis", "Parker", "Price",
    "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Carter", "Richardson", "Bailey",
    "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox", "Richards", "Khan", "Marshall",
    "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Begum", "Wilkinson", "Foster", "Chapman",
    "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali", "Hunt", "Hussain", "Campbell", "Matthews",
    "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight", "Lloyd", "Butler", "Russell", "Barker",
    "Fisher", "Stevens", "Jenkins", "Murray", "Dixon", "Harvey", "MacDonald", "Stewart", "Reid",
    "Fraser", "O'Brien", "O'Neill", "McLaughlin", "Quinn", "Ahmed", "Chen",
];

/// Street and locality name stems.
#[rustfmt::skip]
pub(super) static STREET_STEMS: &[&str] = &[
    "High", "Church", "Station", "Victoria", "Albert", "Queen's", "King's", "Park", "Mill", "Manor",
    "Oakfield", "Hillside", "Westgate", "Riverside", "Meadowbank", "Greenhill", "Ashgrove",
    "Beechwood", "Elmwood", "Fairfield", "Highfield", "Moorside", "Northgate", "Southfield",
    "Eastbrook", "Brookside", "Hollybank", "Grange", "Windsor", "York", "Cambridge", "Stanley",
    "Chapel", "School", "Springfield", "Orchard", "Willow", "Cedar", "Rosehill", "Larkhill",
    "Thornton", "Ashby", "Kingsway", "Belmont", "Heathfield", "Woodlands", "Glebe", "Abbey",
    "Castle", "Market",
];

#[rustfmt::skip]
pub(super) static STREET_SUFFIXES: &[&str] = &[
    "Road", "Street", "Lane", "Avenue", "Close", "Drive", "Crescent", "Gardens", "Terrace", "Way",
    "Grove", "Place", "Row", "Court",
];

#[rustfmt::skip]
pub(super) static SAINTS: &[&str] = &[
    "Mary", "John", "Peter", "Andrew", "Michael", "George", "Margaret", "Luke", "Mark", "James",
    "Paul", "Stephen", "Anne", "Catherine", "Patrick", "David", "Columba", "Nicholas",
    "Bartholomew", "Chad", "Aidan", "Cuthbert", "Thomas", "Matthew", "Bride", "Mungo",
];

/// Venue kinds placed after a locality stem, e.g. "Oakfield Primary School".
#[rustfmt::skip]
pub(super) static VENUES: &[&str] = &[
    "Primary School", "Community Centre", "Library", "Methodist Hall", "Scout Hut", "Sports Centre",
    "Village Hall", "Baptist Church", "Youth Club", "Leisure Centre", "Academy", "Social Club",
    "Memorial Hall", "Infant School", "Tenants' Hall",
];

#[rustfmt::skip]
pub(super) static PROFESSIONS: &[&str] = &[
    "a teacher", "a nurse", "a solicitor", "a small business owner", "a GP",
    "a trade union organiser", "an engineer", "a charity director", "a police officer", "a farmer",
    "an accountant", "a council officer", "a paramedic", "a journalist", "a software developer",
    "a shop manager",
];

#[rustfmt::skip]
pub(super) static CAUSES: &[&str] = &[
    "local bus services", "the high street", "flood defences", "school funding", "social care",
    "affordable housing", "youth services", "the local hospital", "fair wages", "clean air",
];

/// Nationalities of registered voters other than British (Irish and Commonwealth citizens can vote).
#[rustfmt::skip]
pub(super) static OTHER_NATIONALITIES: &[&str] = &[
    "Irish", "Indian", "Pakistani", "Nigerian", "Australian", "Canadian", "Jamaican", "Ghanaian",
    "New Zealander", "Bangladeshi",
];

#[rustfmt::skip]
pub(super) static EMAIL_DOMAINS: &[&str] = &[
    "example.co.uk", "example.com", "example.org", "mail.example.net", "post.example.uk",
];
