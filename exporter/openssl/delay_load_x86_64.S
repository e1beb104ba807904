// OpenSSL, loaded when first called: the Linux counterpart of the Windows .exe's delay-loaded
// DLLs. A service without TLS or password hashes never maps libssl and libcrypto, whose loading
// alone (their symbol tables and relocations) costs 1.7 MB of resident memory.
//
// Each OpenSSL function the exporter calls is defined here as one indirect jump through a slot.
// A slot starts at a stub that hands the slot to thx_openssl_bind (delay_load.cpp): that loads
// the libraries once, finds the function by name (stored right after the slot) and writes it
// into the slot, so later calls cost one jump. The stub keeps every argument register, so
// nothing needs the functions' signatures: a function missing from the list below is a link
// error, not a crash. Hidden: the executable exports none of these names, so OpenSSL's own
// calls never come back through here. load_openssl() checks that the library has every function
// (the slots are listed in the section thx_openssl_slots), so a missing one is an error when the
// configuration asks for TLS or passwords, not an abort in the middle of a handshake.

#ifdef __CET__
#include <cet.h>  // with -fcf-protection: marked for IBT and shadow stacks like the C++ objects
#endif

        .macro delay_loaded name
        .text
        .globl \name
        .hidden \name
        .type \name, @function
\name:
        endbr64
        jmp *.Lslot_\name(%rip)
.Lfirst_\name:
        endbr64
        leaq .Lslot_\name(%rip), %r11
        jmp thx_openssl_first_call
        .size \name, . - \name
        .section .data.rel.local,"aw",@progbits
        .balign 8
.Lslot_\name:
        .quad .Lfirst_\name
        .asciz "\name"
        .section thx_openssl_slots,"aw",@progbits
        .balign 8
        .quad .Lslot_\name
        .endm

// Entered by a jump from a function's first call with its slot in r11 (a scratch register no
// argument uses); the stack is as the caller left it, the return address on top.
        .text
        .type thx_openssl_first_call, @function
thx_openssl_first_call:
        .cfi_startproc              // the caller's return address is on top, as after a call
        pushq %rbp
        .cfi_def_cfa_offset 16
        .cfi_offset %rbp, -16
        movq %rsp, %rbp
        .cfi_def_cfa_register %rbp
        pushq %rdi
        pushq %rsi
        pushq %rdx
        pushq %rcx
        pushq %r8
        pushq %r9
        pushq %rax                  // the vector register count of a variadic call
        subq $136, %rsp             // xmm0-7, and 16-byte alignment for the call
        movdqu %xmm0, 0(%rsp)
        movdqu %xmm1, 16(%rsp)
        movdqu %xmm2, 32(%rsp)
        movdqu %xmm3, 48(%rsp)
        movdqu %xmm4, 64(%rsp)
        movdqu %xmm5, 80(%rsp)
        movdqu %xmm6, 96(%rsp)
        movdqu %xmm7, 112(%rsp)
        movq %r11, %rdi
        call thx_openssl_bind       // the function's address; never returns without one
        movq %rax, %r11
        movdqu 0(%rsp), %xmm0
        movdqu 16(%rsp), %xmm1
        movdqu 32(%rsp), %xmm2
        movdqu 48(%rsp), %xmm3
        movdqu 64(%rsp), %xmm4
        movdqu 80(%rsp), %xmm5
        movdqu 96(%rsp), %xmm6
        movdqu 112(%rsp), %xmm7
        addq $136, %rsp
        popq %rax
        popq %r9
        popq %r8
        popq %rcx
        popq %rdx
        popq %rsi
        popq %rdi
        popq %rbp
        .cfi_def_cfa %rsp, 8
        jmp *%r11
        .cfi_endproc
        .size thx_openssl_first_call, . - thx_openssl_first_call

// Every OpenSSL function the exporter and Asio's OpenSSL streams call.
delay_loaded BIO_ctrl
delay_loaded BIO_ctrl_pending
delay_loaded BIO_free
delay_loaded BIO_new_bio_pair
delay_loaded BIO_read
delay_loaded BIO_write
delay_loaded CRYPTO_memcmp
delay_loaded ERR_clear_error
delay_loaded ERR_error_string_n
delay_loaded ERR_get_error
delay_loaded ERR_lib_error_string
delay_loaded ERR_peek_last_error
delay_loaded ERR_reason_error_string
delay_loaded EVP_Digest
delay_loaded EVP_sha256
delay_loaded OPENSSL_sk_num
delay_loaded OPENSSL_sk_pop_free
delay_loaded PKCS5_PBKDF2_HMAC
delay_loaded RAND_bytes
delay_loaded SSL_CTX_check_private_key
delay_loaded SSL_CTX_ctrl
delay_loaded SSL_CTX_free
delay_loaded SSL_CTX_get_default_passwd_cb_userdata
delay_loaded SSL_CTX_get_ex_data
delay_loaded SSL_CTX_load_verify_locations
delay_loaded SSL_CTX_new
delay_loaded SSL_CTX_set_client_CA_list
delay_loaded SSL_CTX_set_default_passwd_cb
delay_loaded SSL_CTX_set_default_passwd_cb_userdata
delay_loaded SSL_CTX_set_ex_data
delay_loaded SSL_CTX_set_options
delay_loaded SSL_CTX_set_session_id_context
delay_loaded SSL_CTX_set_verify
delay_loaded SSL_CTX_use_PrivateKey_file
delay_loaded SSL_CTX_use_certificate_chain_file
delay_loaded SSL_accept
delay_loaded SSL_connect
delay_loaded SSL_ctrl
delay_loaded SSL_free
delay_loaded SSL_get_error
delay_loaded SSL_get_ex_data
delay_loaded SSL_get_shutdown
delay_loaded SSL_load_client_CA_file
delay_loaded SSL_new
delay_loaded SSL_read
delay_loaded SSL_set_bio
delay_loaded SSL_set_ex_data
delay_loaded SSL_write
delay_loaded TLS_client_method
delay_loaded TLS_method
delay_loaded TLS_server_method
delay_loaded X509_NAME_free

        .section .note.GNU-stack,"",@progbits
