package seed

// product is one item the seeded orders buy.
type product struct {
	sku, name string
	cents     int64
}

// catalog is what the seeded shop sells.
var catalog = []product{
	{"mug-classic", "Classic mug", 1250},
	{"mug-travel", "Travel mug", 2400},
	{"tea-earl-grey", "Earl Grey tea, 100 g", 850},
	{"tea-sencha", "Sencha tea, 100 g", 1190},
	{"coffee-beans", "Coffee beans, 1 kg", 2890},
	{"grinder-hand", "Hand grinder", 6900},
	{"kettle-gooseneck", "Gooseneck kettle", 8900},
	{"lamp-desk", "Desk lamp", 4999},
	{"chair-office", "Office chair", 24900},
	{"desk-standing", "Standing desk", 54900},
	{"monitor-27", "27\" monitor", 31900},
	{"keyboard-mech", "Mechanical keyboard", 11900},
	{"mouse-wireless", "Wireless mouse", 3900},
	{"cable-usbc", "USB-C cable", 1290},
	{"dock-usbc", "USB-C dock", 14900},
	{"headset", "Headset", 8900},
	{"webcam-hd", "HD webcam", 6900},
	{"notebook-a5", "A5 notebook", 690},
	{"pen-fountain", "Fountain pen", 3400},
	{"ink-blue", "Blue ink", 900},
	{"plant-pothos", "Pothos plant", 1800},
	{"backpack", "Laptop backpack", 7900},
	{"bottle-steel", "Steel bottle", 2200},
	{"whiteboard", "Whiteboard", 5900},
	{"markers", "Whiteboard markers, 8", 1100},
}

// discounts are the codes the seeded orders use.
var discounts = []struct {
	code    string
	percent int
}{{"WELCOME10", 10}, {"SPRING15", 15}, {"VIP20", 20}, {"FLASH25", 25}, {"STAFF30", 30}}

var (
	firstNames = []string{"Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "Alan", "Radia",
		"Donald", "Hedy", "John", "Katherine", "Edsger", "Sophie", "Tim", "Joan", "Niklaus", "Mary", "Guido", "Anita",
		"Bjarne", "Lynn", "James", "Shafi", "Rob", "Evelyn", "Leslie", "Carol"}
	lastNames = []string{"Lovelace", "Hopper", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie", "Allen", "Turing",
		"Perlman", "Knuth", "Lamarr", "Backus", "Johnson", "Dijkstra", "Wilson", "Berners-Lee", "Clarke", "Wirth", "Keller",
		"van Rossum", "Borg", "Stroustrup", "Conway", "Gosling", "Goldwasser", "Pike", "Boyd", "Lamport", "Shaw"}
	workspaceNames = []string{"Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises", "Tyrell"}
	carriers       = []string{"ups", "dhl", "fedex", "usps"}
	methods        = []string{"card", "card", "card", "paypal", "invoice"}
	reasons        = []string{"customer request", "changed my mind", "found it cheaper", "ordered by mistake"}
	refundReasons  = []string{"out of stock", "customer request", "damaged in warehouse"}
)
