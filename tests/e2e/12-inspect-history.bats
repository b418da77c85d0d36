load helpers
setup() {
	common_setup
	strata import --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["sh"]' \
		--change 'LABEL org.example.team=tools' "$(busybox_tar)" busybox:latest >/dev/null
}

@test "inspect: Docker-compatible JSON" {
	run strata inspect busybox
	[ "$status" -eq 0 ]
	echo "$output" | jq -e 'type == "array" and length == 1' >/dev/null
	echo "$output" | jq -e '.[0] | (.Id | startswith("sha256:")) and .RepoTags == ["busybox:latest"]
		and .Architecture == "amd64" and .Os == "linux" and (.Size > 1000000)
		and .RootFS.Type == "layers" and (.RootFS.Layers | length) == 1
		and .Config.Cmd == ["sh"] and (.Created | test("^[0-9]{4}-"))
		and (.Metadata | has("LastTagTime"))' >/dev/null
}

@test "inspect: --format with paths, json, index, range" {
	run strata inspect --format '{{.Config.Env}}' busybox
	[ "$output" = "[PATH=/usr/sbin:/usr/bin:/sbin:/bin]" ]
	run strata inspect --format '{{json .Config.Cmd}}' busybox
	[ "$output" = '["sh"]' ]
	run strata inspect --format '{{index .Config.Labels "org.example.team"}}' busybox
	[ "$output" = "tools" ]
	run strata inspect --format '{{range .RootFS.Layers}}{{.}}{{end}}' busybox
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	run strata inspect --format '{{index .RepoTags 0}}' busybox
	[ "$output" = "busybox:latest" ]
	run strata inspect --format '{{json .Config}}' busybox
	echo "$output" | jq -e '.Env | length == 1' >/dev/null
}

@test "inspect: several images, an unknown one fails and names it" {
	strata tag busybox b2:1
	run strata inspect --format '{{.Id}}' busybox b2:1
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[0]}" = "${lines[1]}" ]
	run strata inspect nosuch:1
	[ "$status" -ne 0 ]
	[[ "$output" == *"No such object: nosuch:1"* ]]
	run strata inspect --type image nosuch:1
	[ "$status" -ne 0 ]
	[[ "$output" == *"No such image: nosuch:1"* ]]
	run strata inspect --type container busybox
	[ "$status" -ne 0 ]
	[[ "$output" == *"No such container: busybox"* ]]
	run strata inspect --format '{{.Nope' busybox
	[ "$status" -ne 0 ]
	[[ "$output" == *template* ]]
}

@test "inspect: an image id prefix works" {
	id=$(strata images -q)
	run strata inspect --format '{{index .RepoTags 0}}' "$id"
	[ "$status" -eq 0 ]
	[ "$output" = "busybox:latest" ]
}

@test "history: columns, -q, --no-trunc, -H=false and --format" {
	run strata history busybox
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^IMAGE\ +CREATED\ +CREATED\ BY\ +SIZE\ +COMMENT$ ]]
	[[ "${lines[1]}" =~ ^[0-9a-f]{12}\  ]]
	run strata history -q busybox
	[[ "$output" =~ ^[0-9a-f]{12}$ ]]
	run strata history --no-trunc -q busybox
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	run strata history -H=false --format '{{.Size}}' busybox
	[[ "$output" =~ ^[0-9]+$ ]]
	[ "$output" -gt 1000000 ]
	run strata history --human --format '{{.Size}}' busybox
	[[ "$output" =~ ^[0-9.]+MB$ ]]
}
