"""The edge: settings, field types, cross-field rules, SOPS and loading; bad input stops here."""
