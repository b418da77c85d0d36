load helpers
setup() { common_setup; }

@test "cli: version and help" {
	run strata version
	[ "$status" -eq 0 ]
	[[ "$output" == "strata version "* ]]
	run strata --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Commands:"* ]]
}

@test "cli: an unknown command exits 2 and says so" {
	run strata frobnicate
	[ "$status" -eq 2 ]
	[[ "$output" == *"'frobnicate' is not a strata command"* ]]
}
