"""NixOS side: host values, the Nix string filter, template rendering and the build tree."""
