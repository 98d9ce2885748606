# frozen_string_literal: true

Gem::Specification.new do |spec|
  spec.name          = 'fluent-plugin-o365-bridge'
  spec.version       = '0.1.0'
  spec.authors       = ['o365-fluent-bridge contributors']
  spec.summary       = 'Fluentd input for the Office 365 Management Activity API (Defender for Office 365 and all audit content), through o365-fluent-bridge'
  spec.description   = 'Runs o365-fluent-bridge as a supervised child process and emits its events straight into Fluentd\'s router, acknowledging each batch only after emit_stream returned, so the bridge\'s checkpoint moves only on what Fluentd took.'
  spec.license       = 'MIT'
  spec.homepage      = 'https://github.com/o365-fluent-bridge/o365-fluent-bridge'
  spec.required_ruby_version = '>= 2.7'

  # A fixed list, not `git ls-files`: the gem builds offline, from a tarball or a plain copy.
  spec.files = %w[
    README.md
    fluent-plugin-o365-bridge.gemspec
    lib/fluent/plugin/in_o365_bridge.rb
    lib/fluent/plugin/o365_bridge/params.json
  ]
  spec.test_files    = %w[test/test_in_o365_bridge.rb test/fake_bridge.rb]
  spec.require_paths = ['lib']

  spec.add_runtime_dependency 'fluentd', '>= 1.14', '< 2'
  spec.add_development_dependency 'test-unit', '~> 3.3'
end
