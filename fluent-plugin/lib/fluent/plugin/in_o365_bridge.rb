# frozen_string_literal: true
#
# Fluentd input plugin: Office 365 Management Activity API (Defender for Office 365 and all audit
# content) through o365-fluent-bridge, run as a supervised child process.
#
# A thin shim. Everything that matters (polling, windows, validation, tags, checkpoints) stays in the
# bridge; this file only spawns it with `run --sink stdio`, reads PackedForward entries from its stdout,
# emits them with router.emit_stream, and writes {"ack": chunk} back on its stdin only after
# emit_stream returned, as Fluentd's own in_forward does. An emit that raises (a buffer overflow)
# is not acked, so the bridge sends the batch again; its checkpoint moves only on acks.
#
# Inline sections are generated from the bridge's config schema (o365_bridge/params.json, written by
# test/support/plugin-params.ts): <poll> interval_seconds 300 </poll> is poll.intervalSeconds: 300.
require 'fileutils'
require 'json'
require 'open3'
require 'shellwords'
require 'tmpdir'
require 'fluent/plugin/input'
require 'fluent/event'
require 'fluent/msgpack_factory'
require 'fluent/clock'

module Fluent
  module Plugin
    class O365BridgeInput < Input
      Fluent::Plugin.register_input('o365_bridge', self)

      helpers :thread

      PARAMS = JSON.parse(File.read(File.join(__dir__, 'o365_bridge', 'params.json')))
      # The bridge's JSON log levels onto Fluentd's.
      LEVELS = { 'debug' => :debug, 'info' => :info, 'warn' => :warn, 'error' => :error }.freeze
      # A child that ran this long was healthy: the next restart starts from the smallest backoff.
      HEALTHY_RUN_SECONDS = 60

      def self.define_params(ctx, params)
        params.each do |p|
          opts = { desc: p['desc'] }
          opts[:default] = nil unless p['required']
          opts[:secret] = true if p['type'] == 'secret' || p['secret']
          case p['type']
          when 'string', 'secret' then ctx.config_param(p['name'].to_sym, :string, **opts)
          when 'integer' then ctx.config_param(p['name'].to_sym, :integer, **opts)
          when 'bool' then ctx.config_param(p['name'].to_sym, :bool, **opts)
          when 'enum' then ctx.config_param(p['name'].to_sym, :enum, list: p['list'].map(&:to_sym), **opts)
          when 'array' then ctx.config_param(p['name'].to_sym, :array, value_type: :string, **opts)
          else raise "o365_bridge: params.json: unknown type #{p['type']}"
          end
        end
      end

      def self.define_section(ctx, s)
        # param_name never collides with the plugin's own instance variables (@log is its logger).
        # Required-ness of <tenant> is checked in configure: config_path needs none.
        ctx.config_section(s['name'].to_sym, param_name: :"#{s['name']}_section", multi: s['multi'], required: false) do
          O365BridgeInput.define_params(self, s['params'])
          s['sections'].each { |sub| O365BridgeInput.define_section(self, sub) }
        end
      end

      desc 'First part of every tag: <tag_prefix>.<content type>.<record type>, e.g. o365.audit.general.threat_intelligence.'
      config_param :tag_prefix, :string, default: 'o365'
      desc "The bridge's own config file (YAML or JSON); its sink section is replaced by stdio. Or give inline sections instead."
      config_param :config_path, :string, default: nil
      desc 'How to start the bridge (split like a shell would; no secrets here). Default: o365-fluent-bridge on PATH.'
      config_param :command, :string, default: 'o365-fluent-bridge'
      desc "Check the bridge's config with `check-config` while Fluentd reads its own (so --dry-run catches mistakes)."
      config_param :check_config, :bool, default: true
      desc 'How long a stopping bridge may take to get its last batches acknowledged before it is killed.'
      config_param :stop_timeout, :time, default: 60
      desc 'First wait before restarting a bridge that exited; doubles on each restart up to restart_backoff_max.'
      config_param :restart_backoff_min, :time, default: 1
      desc 'Longest wait between two restarts.'
      config_param :restart_backoff_max, :time, default: 300

      define_params(self, PARAMS['params'])
      PARAMS['sections'].each { |s| define_section(self, s) }

      attr_reader :bridge_config, :argv, :child_env, :restarts

      def configure(conf)
        super
        raise Fluent::ConfigError, "o365_bridge: tag_prefix: expected lower-case words of a-z, 0-9 and _ separated by dots; found #{@tag_prefix.inspect}" unless @tag_prefix.match?(/\A[a-z0-9_]+(\.[a-z0-9_]+)*\z/)
        @argv_base = Shellwords.split(@command)
        raise Fluent::ConfigError, 'o365_bridge: command is empty' if @argv_base.empty?
        @child_env = {}
        inline = build_section(PARAMS, self, [])
        if @config_path
          unless inline.empty?
            raise Fluent::ConfigError, "o365_bridge: give either config_path or inline sections, not both (inline: #{inline.keys.join(', ')})"
          end
          @config_file = File.expand_path(@config_path)
          @bridge_config = nil
        else
          raise Fluent::ConfigError, 'o365_bridge: give config_path (the bridge\'s own config file) or at least one <tenant> section' unless inline['tenants']
          raise Fluent::ConfigError, 'o365_bridge: state_dir is required with inline sections (where the checkpoints live; one owner per directory)' unless inline['stateDir']
          @bridge_config = inline
          write_inline_config
        end
        @argv = @argv_base + ['run', '--config', @config_file, '--sink', 'stdio', '--tag-prefix', @tag_prefix]
        run_check_config if @check_config
        @restarts = 0
      end

      def start
        super
        @stopping = false
        @child_pid = nil
        @mutex = Mutex.new
        @wakeup = ConditionVariable.new
        thread_create(:o365_bridge_supervisor) { supervise }
      end

      # Stops the child while outputs still take events (inputs stop first): SIGTERM starts the
      # bridge's graceful stop (no new fetches, last acks), and stop_timeout bounds it.
      def stop
        @stopping = true
        @mutex&.synchronize { @wakeup.broadcast }
        if (pid = @child_pid)
          log.info 'stopping o365-fluent-bridge', pid: pid
          signal(:TERM, pid)
          deadline = Fluent::Clock.now + @stop_timeout
          sleep 0.05 while @child_pid && Fluent::Clock.now < deadline
          if (pid = @child_pid)
            log.warn "o365-fluent-bridge did not stop within #{@stop_timeout}s; killing it (what was not acknowledged is sent again on the next start)", pid: pid
            signal(:KILL, pid)
          end
        end
        super
      end

      def shutdown
        super
        FileUtils.rm_rf(@tmpdir) if @tmpdir
      end

      def child_pid
        @child_pid
      end

      private

      # Fluentd values onto the bridge's keys, as the generated descriptor says.
      def build_section(desc, obj, where)
        out = {}
        desc['params'].each do |p|
          v = value_of(obj, p['name'])
          next if v.nil?
          key = p['key']
          case p['type']
          when 'secret'
            if v.empty?
              raise Fluent::ConfigError, "o365_bridge: #{(where + [p['name']]).join(' ')} is empty (is the environment variable it comes from set?)"
            end
            env = "O365_BRIDGE_SECRET_#{@child_env.size}"
            @child_env[env] = v
            set_once(out, key, { 'env' => env }, where)
          when 'enum' then out[key] = v.to_s
          else
            v = File.expand_path(v) if p['path']
            case p['ref']
            when 'env' then set_once(out, key, { 'env' => v }, where)
            when 'file' then set_once(out, key, { 'file' => v }, where)
            else out[key] = v
            end
          end
        end
        desc['sections'].each do |s|
          sub = value_of(obj, "#{s['name']}_section")
          next if sub.nil? || (sub.is_a?(Array) && sub.empty?)
          if s['multi']
            out[s['key']] = sub.each_with_index.map { |x, i| build_section(s, x, where + ["<#{s['name']}> ##{i + 1}"]) }
          else
            sub = sub.first if sub.is_a?(Array)
            h = build_section(s, sub, where + ["<#{s['name']}>"])
            out[s['key']] = h unless h.empty? && !s['required']
          end
        end
        out
      end

      def value_of(obj, name)
        obj.is_a?(Fluent::Config::Section) ? obj[name.to_sym] : obj.instance_variable_get(:"@#{name}")
      end

      def set_once(out, key, value, where)
        if out.key?(key)
          raise Fluent::ConfigError, "o365_bridge: #{(where + [key]).join(' ')}: give one of the value, _env or _file, not several"
        end
        out[key] = value
      end

      # The inline config goes to a private file (0600 in a 0700 directory); secrets are not in it:
      # they reach the child through its environment only.
      def write_inline_config
        @tmpdir = Dir.mktmpdir('o365-bridge-')
        File.chmod(0o700, @tmpdir)
        # Fluentd's supervisor configures plugins too but never shuts them down: clean up on exit as well.
        dir = @tmpdir
        at_exit { FileUtils.rm_rf(dir) }
        @config_file = File.join(@tmpdir, 'bridge.json')
        File.open(@config_file, File::WRONLY | File::CREAT | File::TRUNC, 0o600) { |f| f.write(JSON.pretty_generate(@bridge_config)) }
      end

      def run_check_config
        cmd = @argv_base + ['check-config', @config_file, '--sink', 'stdio', '--tag-prefix', @tag_prefix]
        out, err, status = Open3.capture3(@child_env, *cmd, stdin_data: '')
        return if status.success?

        problems = (err + out).lines.map(&:strip).reject(&:empty?)
        problems = problems.map { |l| l.gsub(@config_file, '<source @type o365_bridge>') } if @tmpdir
        raise Fluent::ConfigError, "o365_bridge: the bridge refused its config (exit #{status.exitstatus}):\n  #{problems.join("\n  ")}"
      rescue SystemCallError => e
        raise Fluent::ConfigError, "o365_bridge: cannot run #{@argv_base.first.inspect} (#{e.class.name.split('::').last}); install o365-fluent-bridge or set command"
      end

      def supervise
        backoff = @restart_backoff_min
        until @stopping
          started = Fluent::Clock.now
          status = run_child
          break if @stopping
          if status&.success?
            log.info 'o365-fluent-bridge finished cleanly (poll.once, or stopped from outside); not restarted'
            break
          end
          backoff = @restart_backoff_min if Fluent::Clock.now - started >= HEALTHY_RUN_SECONDS
          # Kernel.format: a generated parameter named `format` (the bridge's top-level format key) is a method here.
          log.error "o365-fluent-bridge exited (#{describe_status(status)}); restarting in #{Kernel.format('%g', backoff)}s", restarts: @restarts
          @mutex.synchronize { @wakeup.wait(@mutex, backoff) unless @stopping }
          backoff = [backoff * 2, @restart_backoff_max].min
          @restarts += 1
        end
      end

      def describe_status(status)
        return 'could not start' if status.nil?
        status.signaled? ? "killed by signal #{status.termsig}" : "exit code #{status.exitstatus}"
      end

      # One child from spawn to exit. Returns its Process::Status (nil when it could not start).
      def run_child
        in_r, in_w = IO.pipe
        out_r, out_w = IO.pipe
        err_r, err_w = IO.pipe
        begin
          # Its own process group: a Ctrl-C on Fluentd's terminal reaches Fluentd, whose shutdown stops the
          # child in order; the child's lifecycle is the source's alone.
          pid = Process.spawn(@child_env, *@argv, in: in_r, out: out_w, err: err_w, close_others: true, pgroup: true)
        rescue SystemCallError => e
          log.error "cannot start o365-fluent-bridge: #{@argv_base.first} (#{e.class.name.split('::').last}); install it or set command"
          [in_r, in_w, out_r, out_w, err_r, err_w].each(&:close)
          return nil
        end
        [in_r, out_w, err_w].each(&:close)
        @child_pid = pid
        log.info 'o365-fluent-bridge started', pid: pid
        # stop may have looked for a pid just before this one existed: it must not outlive the source.
        signal(:TERM, pid) if @stopping
        logs = Thread.new { pump_logs(err_r) }
        begin
          pump_events(out_r, in_w)
        ensure
          in_w.close unless in_w.closed?
          _, status = Process.wait2(pid)
          @child_pid = nil
          logs.join(5)
          out_r.close
          err_r.close unless err_r.closed?
        end
        status
      end

      def pump_events(out, acks)
        unpacker = Fluent::MessagePackFactory.msgpack_unpacker
        loop do
          data = begin
            out.readpartial(1 << 20)
          rescue EOFError, IOError
            break
          end
          unpacker.feed_each(data) { |msg| on_message(msg, acks) }
        end
      rescue MessagePack::MalformedFormatError, MessagePack::UnknownExtTypeError => e
        log.error 'undecodable data from o365-fluent-bridge on its stdout; stopping this child', error: e
        signal(:TERM, @child_pid) if @child_pid
        out.read rescue nil # drain until it exits
      end

      # Mirrors in_forward's PackedForward branch: no per-record decode here; the event stream reads
      # the entries lazily. Acked only once emit_stream returned.
      def on_message(msg, acks)
        unless msg.is_a?(Array) && msg.size >= 2 && msg[0].is_a?(String) && msg[1].is_a?(String)
          log.warn 'unexpected message from o365-fluent-bridge on its stdout; ignored'
          return
        end
        tag, entries, option = msg
        option = {} unless option.is_a?(Hash)
        es = Fluent::MessagePackEventStream.new(entries, nil, option['size'].to_i)
        begin
          router.emit_stream(tag, es)
        rescue StandardError => e
          log.warn 'emit failed; batch not acknowledged, the bridge sends it again', tag: tag, error: e
          return
        end
        return unless (chunk = option['chunk'])

        begin
          acks.write({ 'ack' => chunk }.to_msgpack)
        rescue IOError, SystemCallError
          # The child is gone: the batch was emitted but not acked, so it comes again (at least once).
        end
      end

      def pump_logs(err)
        err.each_line do |line|
          line = line.chomp
          next if line.empty?
          rec = begin
            JSON.parse(line)
          rescue JSON::ParserError
            nil
          end
          if rec.is_a?(Hash) && rec['msg'].is_a?(String)
            level = LEVELS[rec.delete('level')] || :info
            msg = rec.delete('msg')
            rec.delete('time')
            log.__send__(level, "o365-fluent-bridge: #{msg}", rec)
          else
            # Plain lines are the CLI's own: config problems and fatal errors.
            log.error "o365-fluent-bridge: #{line}"
          end
        end
      rescue IOError
        nil
      end

      def signal(sig, pid)
        Process.kill(sig, pid)
      rescue Errno::ESRCH, Errno::EPERM
        nil
      end
    end
  end
end
