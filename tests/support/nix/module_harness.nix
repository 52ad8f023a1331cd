# Test harness: evaluates what ONE relaymd module declares, with plain Nix.
#
# nixpkgs cannot be fetched on the test machines, so `lib` below is a stand-in for the
# handful of nixpkgs lib functions the modules call, with the same semantics. This is
# not the NixOS module system: option types are not checked and definitions are not
# merged across modules. Tests use it to read one module's `config` for given option
# values: the values a rendered configuration.nix sets, over the module's defaults.
{ module, configuration, system ? { } }:
let
  inherit (builtins) isAttrs isList mapAttrs listToAttrs attrNames removeAttrs;

  anyType = "type";
  typeOf = _: anyType;
  lib = {
    types = {
      str = anyType; bool = anyType; port = anyType; anything = anyType;
      strMatching = typeOf; listOf = typeOf; nonEmptyListOf = typeOf;
      nullOr = typeOf; attrsOf = typeOf;
    };
    mkOption = spec: spec;
    mkEnableOption = description: { default = false; inherit description; };
    mkPackageOption = pkgSet: name: _: { default = pkgSet.${name}; };
    mkIf = condition: content: { _type = "if"; inherit condition content; };
    mkDefault = content: { _type = "override"; priority = 1000; inherit content; };
    mkForce = content: { _type = "override"; priority = 50; inherit content; };
    optional = condition: item: if condition then [ item ] else [ ];
    optionalAttrs = condition: set: if condition then set else { };
    genAttrs = names: f: listToAttrs (map (name: { inherit name; value = f name; }) names);
    hasPrefix = prefix: text: builtins.substring 0 (builtins.stringLength prefix) text == prefix;
    concatStringsSep = builtins.concatStringsSep;
    elem = builtins.elem;
    any = builtins.any;
    getExe' = package: name: "${package}/bin/${name}";
    escapeShellArg = text: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] text + "'";
  };

  fakeStorePath = name: "/nix/store/00000000000000000000000000000000-${name}";
  pkgs = {
    infisical = fakeStorePath "infisical";
    gnugrep = fakeStorePath "gnugrep";
    writeText = name: text: { outPath = fakeStorePath name; inherit text; };
  };

  # Unwrap mkIf / mkDefault / mkForce: a false mkIf becomes null (nothing declared).
  resolve = value:
    if isAttrs value && value ? _type then
      (if value._type == "if" then (if value.condition then resolve value.content else null)
       else resolve value.content)
    else if isAttrs value && !(value ? outPath) then mapAttrs (_: resolve) value
    else if isList value then map resolve value
    else value;

  recursiveMerge = left: right:
    left // mapAttrs (name: value:
      if isAttrs value && left ? ${name} && isAttrs left.${name}
      then recursiveMerge left.${name} value else value) right;

  rendered = removeAttrs (import configuration { }) [ "imports" ];
  evaluated = import module { inherit config lib pkgs; modulesPath = "/nixpkgs/nixos/modules"; };
  declared = resolve (evaluated.config or { });
  # A module's definitions of its own options (e.g. settings defaults). A module whose
  # whole config hangs on its own enable flag defines none, and reading them would recurse.
  rawConfig = evaluated.config or { };
  ownDefinitions = if rawConfig ? _type then { } else resolve (rawConfig.relaymd or { });
  areas = attrNames (evaluated.options.relaymd or { });
  defaults = area: listToAttrs (map (name: { inherit name; value = evaluated.options.relaymd.${area}.${name}.default; })
    (builtins.filter (name: evaluated.options.relaymd.${area}.${name} ? default)
      (attrNames evaluated.options.relaymd.${area})));
  optionValues = listToAttrs (map (area: {
    name = area;
    value = recursiveMerge
      (recursiveMerge (defaults area) (ownDefinitions.${area} or { }))
      (rendered.relaymd.${area} or { });
  }) areas);

  baseSystem = {
    # NixOS's default; a test passes `system` to evaluate a host with IPv6 off.
    networking.enableIPv6 = true;
    networking.firewall = {
      enable = true; allowedTCPPorts = [ ]; allowedTCPPortRanges = [ ];
      trustedInterfaces = [ ]; interfaces = { };
    };
    services.tailscale.interfaceName = "tailscale0";
    services.resolved.enable = false;
    services.openssh.settings.PasswordAuthentication = false;
  };
  config = recursiveMerge (recursiveMerge baseSystem system) { relaymd = optionValues; };
in
{
  inherit declared;
  options = optionValues;
  failedAssertions = map (check: check.message)
    (builtins.filter (check: !check.assertion) (declared.assertions or [ ]));
}
