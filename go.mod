module github.com/rainbowsmoke/crispy-enigma

go 1.26.0

tool github.com/magefile/mage

require (
	github.com/cloudflare/cloudflare-go/v6 v6.10.0
	github.com/fatih/color v1.19.0
	github.com/google/uuid v1.6.0
	github.com/joho/godotenv v1.5.1
	github.com/magefile/mage v1.17.2
	github.com/mattn/go-isatty v0.0.20
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	github.com/tailscale/hujson v0.0.0-20260727124030-b80ff77dac4f
	golang.org/x/sync v0.23.0
	golang.org/x/text v0.14.0
)

require (
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/tidwall/gjson v1.14.4 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.2.1 // indirect
	github.com/tidwall/sjson v1.2.5 // indirect
	golang.org/x/sys v0.42.0 // indirect
)
